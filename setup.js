// Jest setup: CDKTF's matchers (toHaveResourceWithProperties, ...) and the SDK mock matchers.
const { Testing } = require('cdktf');
require('aws-sdk-client-mock-jest');

Testing.setupJest();
