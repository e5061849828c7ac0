// A small evaluator of AWS's documented policy evaluation logic for requests that stay in one account
// (and cross-account requests, which it refuses unless both sides allow). Written from the IAM User
// Guide: "Policy evaluation logic", "Cross-account policy evaluation logic", the Principal, Action,
// Resource and Condition element pages and "Condition operators", and from the KMS Developer Guide's
// "Key policies" (a key policy must allow, directly or by delegating to the account).
//
// Not modelled: SCPs, RCPs, permission boundaries, session policies, KMS grants, ACLs, policy
// variables and the IpAddress/Binary operators. Anything it cannot evaluate throws instead of guessing.
import type { PolicyDocument, PrincipalJson, StatementJson, Strings } from './policy';

/** An IAM role (the caller's role ARN and account) or a service principal such as s3.amazonaws.com. */
export type Principal =
  | { readonly type: 'AWS'; readonly arn: string; readonly account: string }
  | { readonly type: 'Service'; readonly service: string };

export type ContextValue = string | readonly string[];

export interface Request {
  readonly principal: Principal;
  readonly action: string;
  readonly resource: string;
  /** Condition keys of the request; names are case-insensitive, as in AWS. */
  readonly context?: Readonly<Record<string, ContextValue>>;
}

export interface PolicyRef {
  readonly name: string;
  readonly document: PolicyDocument;
}

export interface Policies {
  /** The policies attached to the calling role (ignored for service principals). */
  readonly identity?: readonly PolicyRef[];
  /** The policies attached to the resource: bucket, queue, topic, function, role trust or key policy. */
  readonly resource?: readonly PolicyRef[];
  /** The account that owns the resource. */
  readonly resourceAccount: string;
  /**
   * True when the resource policy must allow (KMS key policies, role trust policies). Default: true
   * for KMS actions and sts:AssumeRole*, false otherwise.
   */
  readonly resourcePolicyRequired?: boolean;
}

export interface StatementRef {
  readonly policy: string;
  readonly sid?: string;
  readonly index: number;
  readonly effect: 'Allow' | 'Deny';
  readonly source: 'identity' | 'resource';
  /** For resource statements: they name the principal itself, or only its account (a delegation). */
  readonly grantee?: 'principal' | 'account';
}

export type DecisionKind = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

export interface Decision {
  readonly decision: DecisionKind;
  readonly allowed: boolean;
  /** The statements that decided: the denying ones, or the allowing ones the decision rests on. */
  readonly statements: readonly StatementRef[];
  readonly reason: string;
}

/** The principal of a role ARN (arn:aws:iam::111122223333:role/name). */
export function rolePrincipal(roleArn: string): Principal {
  const account = roleArn.split(':')[4];
  if (!/^\d{12}$/.test(account ?? '')) throw new Error(`Not an IAM role ARN: ${roleArn}`);
  return { type: 'AWS', arn: roleArn, account };
}

export const servicePrincipal = (service: string): Principal => ({ type: 'Service', service });

const list = (value: Strings | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

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

/**
 * ARNs match segment by segment (arn:partition:service:region:account), each with * and ?; the
 * resource part, colons and slashes included, matches as one glob. A lone "*" matches every ARN.
 */
export function arnMatches(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const split = (s: string) => {
    const parts = s.split(':');
    return parts.length < 6 ? undefined : [...parts.slice(0, 5), parts.slice(5).join(':')];
  };
  const [p, a] = [split(pattern), split(arn)];
  if (!p || !a) return glob(pattern, arn);
  return p.every((segment, i) => glob(segment, a[i]));
}

function principalMatch(element: PrincipalJson, principal: Principal): 'principal' | 'account' | undefined {
  if (element === '*') return 'principal';
  for (const [type, values] of Object.entries(element)) {
    for (const value of list(values)) {
      if (type === 'AWS' && value === '*') return 'principal';
      if (principal.type === 'Service') {
        if (type === 'Service' && value.toLowerCase() === principal.service.toLowerCase()) return 'principal';
      } else if (type === 'AWS') {
        if (value === principal.arn) return 'principal';
        const account = /^(\d{12})$|^arn:[^:]+:iam::(\d{12}):root$/.exec(value);
        if (account && (account[1] ?? account[2]) === principal.account) return 'account';
      }
    }
  }
  return undefined;
}

const NEGATED = new Set([
  'StringNotEquals',
  'StringNotEqualsIgnoreCase',
  'StringNotLike',
  'NumericNotEquals',
  'DateNotEquals',
  'ArnNotEquals',
  'ArnNotLike',
]);

/** The positive form of an operator applied to one request value and one policy value. */
function compare(operator: string, actual: string, expected: string): boolean {
  const number = (s: string) => (s.trim() === '' ? NaN : Number(s));
  const date = (s: string) => (/^\d+$/.test(s) ? Number(s) * 1000 : Date.parse(s));
  const ordered = (a: number, e: number, op: string) =>
    !Number.isNaN(a) &&
    !Number.isNaN(e) &&
    ({ Equals: a === e, LessThan: a < e, LessThanEquals: a <= e, GreaterThan: a > e, GreaterThanEquals: a >= e }[op] ??
      false);
  const base = operator.replace(/Not(?=Equals|Like)/, '');
  switch (base) {
    case 'StringEquals':
      return actual === expected;
    case 'StringEqualsIgnoreCase':
      return actual.toLowerCase() === expected.toLowerCase();
    case 'StringLike':
      return glob(expected, actual);
    case 'Bool':
      return actual.toLowerCase() === expected.toLowerCase();
    case 'ArnEquals':
    case 'ArnLike':
      return arnMatches(expected, actual);
  }
  const numeric = /^(Numeric|Date)(Equals|LessThan|LessThanEquals|GreaterThan|GreaterThanEquals)$/.exec(base);
  if (numeric) {
    const parse = numeric[1] === 'Numeric' ? number : date;
    return ordered(parse(actual), parse(expected), numeric[2]);
  }
  throw new Error(`Unsupported condition operator ${operator}`);
}

/** One operator-key pair of a Condition block against the request context. */
function conditionHolds(operatorName: string, key: string, expected: string[], context: Map<string, string[]>) {
  const qualifier = /^(ForAnyValue|ForAllValues):/.exec(operatorName)?.[1];
  const withoutQualifier = operatorName.replace(/^(ForAnyValue|ForAllValues):/, '');
  const ifExists = withoutQualifier.endsWith('IfExists');
  const operator = withoutQualifier.replace(/IfExists$/, '');
  const actual = context.get(key.toLowerCase());
  if (operator === 'Null') {
    const absent = actual === undefined || actual.length === 0;
    return expected.some((e) => (e.toLowerCase() === 'true') === absent);
  }
  const negated = NEGATED.has(operator);
  // A missing key: ...IfExists and ForAllValues hold, negated operators hold, the others do not.
  if (actual === undefined || actual.length === 0) return ifExists || qualifier === 'ForAllValues' || negated;
  // Several policy values are ORed; for a negated operator, NORed.
  const one = (value: string) => {
    const any = expected.some((e) => compare(operator, value, e));
    return negated ? !any : any;
  };
  return qualifier === 'ForAllValues'
    ? actual.every(one)
    : negated && !qualifier
      ? actual.every(one)
      : actual.some(one);
}

/** Operators and keys are ANDed. */
function conditionsHold(statement: StatementJson, context: Map<string, string[]>): boolean {
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
    // Raw JSON policies may write booleans and numbers: AWS compares them as strings.
    Object.entries(keys).every(([key, values]) => conditionHolds(operator, key, list(values).map(String), context)),
  );
}

function statementApplies(s: StatementJson, request: Request, context: Map<string, string[]>): boolean {
  const action = s.Action !== undefined ? list(s.Action).some((p) => actionMatches(p, request.action)) : true;
  const notAction = s.NotAction !== undefined ? !list(s.NotAction).some((p) => actionMatches(p, request.action)) : true;
  // A statement without Resource (a trust policy's) is about the resource its policy is attached to.
  const resource = s.Resource !== undefined ? list(s.Resource).some((p) => arnMatches(p, request.resource)) : true;
  const notResource =
    s.NotResource !== undefined ? !list(s.NotResource).some((p) => arnMatches(p, request.resource)) : true;
  return action && notAction && resource && notResource && conditionsHold(s, context);
}

function matching(policies: readonly PolicyRef[], source: 'identity' | 'resource', request: Request) {
  const context = new Map(
    Object.entries(request.context ?? {}).map(([k, v]) => [k.toLowerCase(), typeof v === 'string' ? [v] : [...v]]),
  );
  const out: StatementRef[] = [];
  for (const policy of policies) {
    policy.document.Statement.forEach((s, index) => {
      let grantee: 'principal' | 'account' | undefined;
      if (source === 'resource') {
        if (s.Principal !== undefined) grantee = principalMatch(s.Principal, request.principal);
        else if (s.NotPrincipal !== undefined)
          grantee = principalMatch(s.NotPrincipal, request.principal) ? undefined : 'principal';
        if (!grantee) return;
      } else if (s.Principal !== undefined || s.NotPrincipal !== undefined) {
        throw new Error(`Identity policy ${policy.name} has a Principal in statement ${s.Sid ?? index}`);
      }
      if (!statementApplies(s, request, context)) return;
      out.push({ policy: policy.name, sid: s.Sid, index, effect: s.Effect, source, ...(grantee ? { grantee } : {}) });
    });
  }
  return out;
}

/** The decision AWS documents for `request` under `policies`, and the statements it rests on. */
export function evaluate(request: Request, policies: Policies): Decision {
  const { principal, action, resource } = request;
  const service = principal.type === 'Service';
  const identity = service ? [] : matching(policies.identity ?? [], 'identity', request);
  const onResource = matching(policies.resource ?? [], 'resource', request);
  const denies = [...identity, ...onResource].filter((s) => s.effect === 'Deny');
  const what = `${action} on ${resource}`;
  if (denies.length > 0) {
    return { decision: 'ExplicitDeny', allowed: false, statements: denies, reason: `explicit deny of ${what}` };
  }
  const identityAllows = identity.filter((s) => s.effect === 'Allow');
  const direct = onResource.filter((s) => s.effect === 'Allow' && s.grantee === 'principal');
  const delegated = onResource.filter((s) => s.effect === 'Allow' && s.grantee === 'account');
  const required = policies.resourcePolicyRequired ?? /^(kms:|sts:AssumeRole)/i.test(action);
  const allow = (statements: StatementRef[], reason: string): Decision => ({
    decision: 'Allow',
    allowed: true,
    statements,
    reason,
  });
  const deny = (reason: string): Decision => ({ decision: 'ImplicitDeny', allowed: false, statements: [], reason });

  if (service) {
    return direct.length > 0
      ? allow(direct, `the resource policy allows ${principal.service} ${what}`)
      : deny(`no resource policy statement allows ${principal.service} ${what}; service principals need one`);
  }
  const crossAccount = principal.account !== policies.resourceAccount;
  if (crossAccount) {
    if (identityAllows.length === 0)
      return deny(`cross-account: no identity policy of ${principal.arn} allows ${what}`);
    const granted = [...direct, ...delegated];
    return granted.length > 0
      ? allow([...granted, ...identityAllows], `cross-account: both the resource and the identity policy allow ${what}`)
      : deny(
          `cross-account: the identity policy allows, but no resource policy of account ${policies.resourceAccount} does`,
        );
  }
  if (direct.length > 0) return allow(direct, `the resource policy names ${principal.arn} for ${what}`);
  if (required) {
    if (delegated.length === 0) {
      return deny(`the ${resourcePolicyLabel(action)} neither names ${principal.arn} nor delegates to its account`);
    }
    return identityAllows.length > 0
      ? allow(
          [...delegated, ...identityAllows],
          `the ${resourcePolicyLabel(action)} delegates to account ${principal.account} and an identity policy allows ${what}`,
        )
      : deny(
          `the ${resourcePolicyLabel(action)} delegates to account ${principal.account}, but no identity policy allows ${what}`,
        );
  }
  return identityAllows.length > 0
    ? allow(identityAllows, `an identity policy allows ${what}`)
    : deny(`no identity or resource policy statement allows ${what}`);
}

const resourcePolicyLabel = (action: string) => (/^kms:/i.test(action) ? 'key policy' : 'trust policy');

/** One line per decision, naming the statements: "ALLOW kms:Decrypt on ... by key/Sid + identity/Sid". */
export function describeDecision(request: Request, decision: Decision): string {
  const who = request.principal.type === 'Service' ? request.principal.service : request.principal.arn;
  const by = decision.statements.map((s) => `${s.policy}#${s.sid ?? s.index}`).join(' + ');
  const verdict = { Allow: 'ALLOW', ExplicitDeny: 'DENY (explicit)', ImplicitDeny: 'DENY (implicit)' }[
    decision.decision
  ];
  return `${verdict} ${who} ${request.action} on ${request.resource}${by ? ` by ${by}` : ''}: ${decision.reason}`;
}
