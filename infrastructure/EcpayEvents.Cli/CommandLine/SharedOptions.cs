using System.CommandLine;

namespace EcpayEvents.Cli.CommandLine;

/// <summary>
/// The options several commands take, each declared once here and added to the commands that use it. Every
/// setting falls back to an environment variable, then to the local stack's settings (<see cref="LocalStack"/>).
/// </summary>
public static class SharedOptions
{
    public static readonly Option<bool> Json = new("--json")
    {
        Description = "print one JSON document on stdout instead of text (shapes: README, \"JSON output\")",
    };

    public static readonly Option<string> ConnectionString = new("--connection-string")
    {
        Description = "MySQL connection string; default $DATABASE_CONNECTION_STRING, else the SSM parameter, else the local stack's",
        HelpName = "CS",
    };

    public static readonly Option<string> ConnectionStringParameter = new("--connection-string-parameter")
    {
        Description = "name of an SSM SecureString holding the connection string (a deployment's); default $DATABASE_CONNECTION_STRING_PARAMETER",
        HelpName = "NAME",
    };

    public static readonly Option<string> Endpoint = new("--endpoint")
    {
        Description = "Step Functions endpoint; default $STEPFUNCTIONS_ENDPOINT, else the local stack's, else AWS",
        HelpName = "URL",
    };

    public static readonly Option<string> StateMachineArn = new("--state-machine-arn")
    {
        Description = "the payment-timeout state machine; default $STATE_MACHINE_ARN (with a local endpoint: the local one)",
        HelpName = "ARN",
    };

    public static readonly Option<string> Region = new("--region")
    {
        Description = "AWS region; default the AWS SDK's chain (AWS_REGION, profile)",
        HelpName = "REGION",
    };

    public static readonly Option<string> Profile = new("--profile")
    {
        Description = "AWS profile (~/.aws) for credentials; default the AWS SDK's chain (AWS_PROFILE, environment, role)",
        HelpName = "NAME",
    };

    public static readonly Option<string> SqsEndpoint = new("--sqs-endpoint")
    {
        Description = "SQS endpoint (local: http://127.0.0.1:4566); default $SQS_ENDPOINT, else the local stack's, else AWS",
        HelpName = "URL",
    };

    public static readonly Option<string> QueueUrl = new("--queue-url")
    {
        Description = "the payment-results queue; default $PAYMENT_RESULTS_QUEUE_URL, else the local stack's",
        HelpName = "URL",
    };

    public static readonly Option<string> EcpayBaseUrl = new("--ecpay-base-url")
    {
        Description = "ECPay (or the sandbox): stage, production or a URL; default $ECPAY_BASE_URL, else the local stack's sandbox, else stage",
        HelpName = "URL",
    };

    /// <summary>The database, with its SSM alternative.</summary>
    public static Option[] Database => [ConnectionString, ConnectionStringParameter, Region, Profile];

    /// <summary>Step Functions.</summary>
    public static Option[] StepFunctions => [Endpoint, StateMachineArn, Region, Profile];

    /// <summary>Adds each option unless the command has it already (the same option serves several groups).</summary>
    public static T With<T>(this T command, params Option[] options) where T : Command
    {
        foreach (var option in options)
            if (!command.Options.Contains(option)) command.Options.Add(option);
        return command;
    }
}
