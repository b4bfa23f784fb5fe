using System.CommandLine;

namespace EcpayEvents.Cli.CommandLine;

/// <summary>
/// The options several commands take, each declared once here and added to the commands that use it (one set per
/// command tree, <see cref="CliContext.Options"/>: an option belongs to the tree it was added to). Every
/// setting falls back to an environment variable, then to the local stack's settings (<see cref="LocalStack"/>).
/// </summary>
public sealed class SharedOptions
{
    public readonly Option<bool> Json = new("--json")
    {
        Description = "print one JSON document on stdout instead of text (shapes: README, \"JSON output\")",
    };

    public readonly Option<string> ConnectionString = new("--connection-string")
    {
        Description = "MySQL connection string; default $DATABASE_CONNECTION_STRING, else the SSM parameter, else the local stack's",
        HelpName = "CS",
    };

    public readonly Option<string> ConnectionStringParameter = new("--connection-string-parameter")
    {
        Description = "name of an SSM SecureString holding the connection string (a deployment's); default $DATABASE_CONNECTION_STRING_PARAMETER",
        HelpName = "NAME",
    };

    public readonly Option<string> Endpoint = new("--endpoint")
    {
        Description = "Step Functions endpoint; default $STEPFUNCTIONS_ENDPOINT, else the local stack's, else AWS",
        HelpName = "URL",
    };

    public readonly Option<string> StateMachineArn = new("--state-machine-arn")
    {
        Description = "the payment-timeout state machine; default $STATE_MACHINE_ARN (with a local endpoint: the local one)",
        HelpName = "ARN",
    };

    public readonly Option<string> Region = new("--region")
    {
        Description = "AWS region; default the AWS SDK's chain (AWS_REGION, profile)",
        HelpName = "REGION",
    };

    public readonly Option<string> Profile = new("--profile")
    {
        Description = "AWS profile (~/.aws) for credentials; default the AWS SDK's chain (AWS_PROFILE, environment, role)",
        HelpName = "NAME",
    };

    public readonly Option<string> SqsEndpoint = new("--sqs-endpoint")
    {
        Description = "SQS endpoint (local: http://127.0.0.1:4566); default $SQS_ENDPOINT, else the local stack's, else AWS",
        HelpName = "URL",
    };

    public readonly Option<string> QueueUrl = new("--queue-url")
    {
        Description = "the payment-results queue; default $PAYMENT_RESULTS_QUEUE_URL, else the local stack's",
        HelpName = "URL",
    };

    public readonly Option<string> EcpayBaseUrl = new("--ecpay-base-url")
    {
        Description = "ECPay (or the sandbox): stage, production or a URL; default $ECPAY_BASE_URL, else the local stack's sandbox, else stage",
        HelpName = "URL",
    };

    /// <summary>The database, with its SSM alternative.</summary>
    public Option[] Database => [ConnectionString, ConnectionStringParameter, Region, Profile];

    /// <summary>Step Functions.</summary>
    public Option[] StepFunctions => [Endpoint, StateMachineArn, Region, Profile];
}
