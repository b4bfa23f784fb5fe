using System.CommandLine;
using Amazon.SimpleSystemsManagement;
using Amazon.SimpleSystemsManagement.Model;
using Amazon.SQS;
using EcpayEvents.Ecpay;
using EcpayEvents.Messaging;
using EcpayEvents.Messaging.StepFunctions;
using MySqlConnector;

namespace EcpayEvents.Cli.CommandLine;

/// <summary>
/// Where a command's parts are, for one invocation: each setting from its option, else its environment variable,
/// else the local stack (<see cref="LocalStack"/>). A setting that is missing or malformed is bad usage.
/// </summary>
public sealed class Settings(ParseResult parse, CliContext context)
{
    /// <summary>The local Step Functions server's state machine.</summary>
    public const string LocalStateMachineArn = "arn:aws:states:us-east-1:000000000000:stateMachine:payment-timeout";

    private string? Get(Option<string> option, string variable, Func<LocalStack, string?> local)
    {
        var value = parse.GetResult(option) is { Implicit: false } ? parse.GetValue(option) : null;
        value ??= context.Environment(variable);
        if (string.IsNullOrEmpty(value) && context.Local is { } stack) value = local(stack);
        return string.IsNullOrEmpty(value) ? null : value;
    }

    public bool Json => parse.GetValue(context.Options.Json);

    public string? Region => Get(context.Options.Region, "AWS_REGION", l => l.Region);

    /// <summary>Applies --profile for the AWS SDK's credential chain (it reads AWS_PROFILE).</summary>
    public void ApplyProfile()
    {
        if (parse.GetValue(context.Options.Profile) is { Length: > 0 } profile)
            System.Environment.SetEnvironmentVariable("AWS_PROFILE", profile);
    }

    /// <summary>The database: --connection-string, $DATABASE_CONNECTION_STRING, an SSM parameter, or the local stack's.</summary>
    public async Task<string> ConnectionStringAsync(CancellationToken ct)
    {
        var direct = parse.GetValue(context.Options.ConnectionString) ?? context.Environment("DATABASE_CONNECTION_STRING");
        if (string.IsNullOrEmpty(direct))
        {
            var parameter = parse.GetValue(context.Options.ConnectionStringParameter) ?? context.Environment("DATABASE_CONNECTION_STRING_PARAMETER");
            direct = !string.IsNullOrEmpty(parameter) ? await SsmParameterAsync(parameter, ct) : context.Local?.ConnectionString;
        }
        if (string.IsNullOrWhiteSpace(direct))
            throw new UsageException("no database: pass --connection-string or --connection-string-parameter, set DATABASE_CONNECTION_STRING, or start the local stack (./run.sh)");
        try
        {
            _ = new MySqlConnectionStringBuilder(direct);
        }
        catch (ArgumentException e)
        {
            // Never the string itself: it carries the password.
            throw new UsageException($"bad connection string: {e.Message.Split('\n')[0]}");
        }
        return direct;
    }

    /// <summary>Checks what a command needs before it starts: no database is bad usage, found before anything is asked.</summary>
    public void RequireDatabaseSetting()
    {
        if (string.IsNullOrEmpty(parse.GetValue(context.Options.ConnectionString) ?? context.Environment("DATABASE_CONNECTION_STRING"))
            && string.IsNullOrEmpty(parse.GetValue(context.Options.ConnectionStringParameter) ?? context.Environment("DATABASE_CONNECTION_STRING_PARAMETER"))
            && string.IsNullOrEmpty(context.Local?.ConnectionString))
            throw new UsageException("no database: pass --connection-string or --connection-string-parameter, set DATABASE_CONNECTION_STRING, or start the local stack (./run.sh)");
    }

    private async Task<string> SsmParameterAsync(string name, CancellationToken ct)
    {
        ApplyProfile();
        var config = new AmazonSimpleSystemsManagementConfig();
        if (Region is { } region) config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
        using var ssm = new AmazonSimpleSystemsManagementClient(config);
        try
        {
            var answer = await ssm.GetParameterAsync(new GetParameterRequest { Name = name, WithDecryption = true }, ct);
            return answer.Parameter.Value;
        }
        catch (ParameterNotFoundException)
        {
            throw new UsageException($"no SSM parameter {name}");
        }
    }

    /// <summary>The Step Functions endpoint (null: AWS) and state machine.</summary>
    public (Uri? Endpoint, string? StateMachineArn) StepFunctionsTarget()
    {
        var endpoint = Get(context.Options.Endpoint, "STEPFUNCTIONS_ENDPOINT", l => l.StepFunctionsEndpoint);
        Uri? serviceUrl = null;
        if (endpoint is not null && !(Uri.TryCreate(endpoint, UriKind.Absolute, out serviceUrl) && serviceUrl.Scheme is "http" or "https"))
            throw new UsageException($"--endpoint {endpoint} is not a URL");
        var arn = Get(context.Options.StateMachineArn, "STATE_MACHINE_ARN", l => l.StateMachineArn);
        if (arn is null && serviceUrl is { IsLoopback: true }) arn = LocalStateMachineArn;
        if (arn is not null && !arn.Contains(":stateMachine:", StringComparison.Ordinal))
            throw new UsageException($"--state-machine-arn {arn} is not a state machine ARN");
        return (serviceUrl, arn);
    }

    /// <summary>A Step Functions client (on the context's HTTP client, else <paramref name="own"/>).</summary>
    public StepFunctionsClient StepFunctions(HttpClient own)
    {
        ApplyProfile();
        var (endpoint, arn) = StepFunctionsTarget();
        return new StepFunctionsClient(context.Http ?? own, new StepFunctionsClientOptions { ServiceUrl = endpoint, Region = Region, StateMachineArn = arn });
    }

    public string RequireStateMachine(string? orElse = null) =>
        StepFunctionsTarget().StateMachineArn
        ?? throw new UsageException($"no state machine: pass --state-machine-arn or set STATE_MACHINE_ARN{(orElse is null ? "" : $" ({orElse})")}");

    /// <summary>The payment-results queue and an SQS client for it.</summary>
    public (IAmazonSQS Client, string QueueUrl) Sqs()
    {
        ApplyProfile();
        var queueUrl = Get(context.Options.QueueUrl, "PAYMENT_RESULTS_QUEUE_URL", l => l.QueueUrl)
            ?? throw new UsageException("no queue: pass --queue-url or set PAYMENT_RESULTS_QUEUE_URL (the payment-results queue), or start the local stack (./run.sh)");
        var endpoint = Get(context.Options.SqsEndpoint, "SQS_ENDPOINT", l => l.SqsEndpoint);
        if (endpoint is not null && !Uri.TryCreate(endpoint, UriKind.Absolute, out _))
            throw new UsageException($"--sqs-endpoint {endpoint} is not a URL");
        var options = new SqsOptions { QueueUrl = queueUrl, ServiceUrl = endpoint, Region = Region ?? "us-east-1" };
        return (options.CreateClient(TimeSpan.FromSeconds(30)), queueUrl);
    }

    /// <summary>
    /// ECPay's QueryTradeInfo: the base URL from --ecpay-base-url (stage, production or a URL), $ECPAY_BASE_URL or the
    /// local sandbox (else stage); the merchant and keys from $ECPAY_MERCHANT_ID, $ECPAY_HASH_KEY, $ECPAY_HASH_IV
    /// (or the SSM parameters named by $ECPAY_HASH_KEY_PARAMETER, $ECPAY_HASH_IV_PARAMETER), else the local stack's.
    /// </summary>
    public async Task<QueryTradeInfoOptions> EcpayAsync(CancellationToken ct)
    {
        var baseUrl = Get(context.Options.EcpayBaseUrl, "ECPAY_BASE_URL", l => l.EcpayBaseUrl) ?? "stage";
        EcpayUrls endpoints;
        try
        {
            endpoints = baseUrl switch { "stage" => EcpayUrls.Stage, "production" => EcpayUrls.Production, _ => EcpayUrls.FromBaseUrl(baseUrl) };
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--ecpay-base-url: {e.Message}");
        }
        async Task<string?> Secret(string variable, Func<LocalStack, string?> local)
        {
            if (context.Environment(variable) is { Length: > 0 } value) return value;
            if (context.Environment(variable + "_PARAMETER") is { Length: > 0 } parameter) return await SsmParameterAsync(parameter, ct);
            return context.Local is { } stack ? local(stack) : null;
        }
        var merchant = await Secret("ECPAY_MERCHANT_ID", l => l.EcpayMerchantId);
        var key = await Secret("ECPAY_HASH_KEY", l => l.EcpayHashKey);
        var iv = await Secret("ECPAY_HASH_IV", l => l.EcpayHashIv);
        if (merchant is null || key is null || iv is null)
            throw new UsageException("no ECPay merchant: set ECPAY_MERCHANT_ID and ECPAY_HASH_KEY / ECPAY_HASH_IV (or ECPAY_HASH_KEY_PARAMETER / ECPAY_HASH_IV_PARAMETER, SSM names), or start the local stack (./run.sh)");
        return new QueryTradeInfoOptions { Endpoints = endpoints, Credentials = new EcpayCredentials(merchant, key, iv) };
    }
}
