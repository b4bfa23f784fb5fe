using System.Text.Json;

namespace EcpayEvents.Cli.CommandLine;

/// <summary>
/// The settings of a stack started by ./run.sh, which writes them to .local/run/stack.json: so that on a laptop
/// `ecpay-events payment show X` needs no options. Found through $ECPAY_EVENTS_STACK (a path; "off" turns this
/// off), else in .local/run/ of the current directory or one above it. Options and environment variables win.
/// </summary>
public sealed record LocalStack(
    string Path,
    string? ConnectionString,
    string? StepFunctionsEndpoint,
    string? StateMachineArn,
    string? SqsEndpoint,
    string? QueueUrl,
    string? DeadLetterQueueUrl,
    string? Region,
    string? PaymentsApi,
    string? Sandbox,
    string? CognitoSettings,
    string? EcpayMerchantId,
    string? EcpayHashKey,
    string? EcpayHashIv,
    string? EcpayBaseUrl)
{
    public const string EnvironmentVariable = "ECPAY_EVENTS_STACK";

    public static LocalStack? Find(Func<string, string?> environment, string currentDirectory)
    {
        var given = environment(EnvironmentVariable);
        if (given is "off") return null;
        if (!string.IsNullOrEmpty(given)) return File.Exists(given) ? Read(given) : null;
        for (var dir = new DirectoryInfo(currentDirectory); dir is not null; dir = dir.Parent)
        {
            var path = System.IO.Path.Combine(dir.FullName, ".local", "run", "stack.json");
            if (File.Exists(path)) return Read(path);
        }
        return null;
    }

    public static LocalStack? Read(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            string? S(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            return new LocalStack(path, S("connectionString"), S("stepFunctionsEndpoint"), S("stateMachineArn"), S("sqsEndpoint"),
                S("queueUrl"), S("deadLetterQueueUrl"), S("region"), S("paymentsApi"), S("sandbox"), S("cognito"),
                S("ecpayMerchantId"), S("ecpayHashKey"), S("ecpayHashIv"), S("ecpayBaseUrl"));
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null; // a stack that is being written or gone: as if there were none
        }
    }
}
