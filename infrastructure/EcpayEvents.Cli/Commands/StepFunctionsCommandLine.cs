using EcpayEvents.Messaging.StepFunctions;
using MySqlConnector;

namespace EcpayEvents.Cli.Commands;

/// <summary>
/// What `ecpay-events executions` and `ecpay-events timeouts` share: the Step Functions options (--endpoint,
/// --state-machine-arn, --region, defaulting to $STEPFUNCTIONS_ENDPOINT and $STATE_MACHINE_ARN), the client, and
/// errors as one line on stderr prefixed with the command: exit code 2 for bad usage, 1 when something said no.
/// </summary>
internal sealed class StepFunctionsCommandLine(string command, TextWriter stderr, Func<string, string?> environment)
{
    private string? endpoint = environment("STEPFUNCTIONS_ENDPOINT");
    private string? region;

    /// <summary>The state machine ARN: the option, else $STATE_MACHINE_ARN, else with a local endpoint the local one.</summary>
    public string? StateMachineArn { get; private set; } = environment("STATE_MACHINE_ARN");

    public Uri? ServiceUrl { get; private set; }

    /// <summary>The arguments that are not options, in order.</summary>
    public List<string> Positional { get; } = [];

    /// <summary>A bad command line or argument: exit code 2, with a pointer to --help.</summary>
    public sealed class UsageException(string message) : Exception(message);

    /// <summary>
    /// Reads the shared options and, through <paramref name="own"/>, the command's own: it answers whether it took the
    /// option and reads a value with the function it is given (a usage error when there is none). Anything else not
    /// starting with "--" is positional. Then checks --endpoint and --state-machine-arn. False (after printing why): exit 2.
    /// </summary>
    public bool TryParse(string[] args, Func<string, Func<string>, bool> own)
    {
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                var option = args[i];
                string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{option} needs a value");
                switch (option)
                {
                    case "--endpoint": endpoint = Value(); break;
                    case "--state-machine-arn": StateMachineArn = Value(); break;
                    case "--region": region = Value(); break;
                    case var _ when own(option, Value): break;
                    case var flag when flag.StartsWith("--", StringComparison.Ordinal): throw new UsageException($"unknown option {flag}");
                    default: Positional.Add(option); break;
                }
            }

            Uri? serviceUrl = null;
            if (!string.IsNullOrEmpty(endpoint) && !(Uri.TryCreate(endpoint, UriKind.Absolute, out serviceUrl) && serviceUrl.Scheme is "http" or "https"))
                throw new UsageException($"--endpoint {endpoint} is not a URL");
            ServiceUrl = serviceUrl;
            if (string.IsNullOrEmpty(StateMachineArn) && serviceUrl is { IsLoopback: true })
                StateMachineArn = ExecutionsCommand.LocalStateMachineArn;
            if (!string.IsNullOrEmpty(StateMachineArn) && !StateMachineArn.Contains(":stateMachine:", StringComparison.Ordinal))
                throw new UsageException($"--state-machine-arn {StateMachineArn} is not a state machine ARN");
            return true;
        }
        catch (UsageException e)
        {
            Usage(e.Message);
            return false;
        }
    }

    /// <summary>The state machine ARN, or a usage error that says how to give one (plus <paramref name="orElse"/>).</summary>
    public string RequireStateMachine(string? orElse = null) =>
        string.IsNullOrEmpty(StateMachineArn)
            ? throw new UsageException($"no state machine: pass --state-machine-arn or set STATE_MACHINE_ARN{(orElse is null ? "" : $" ({orElse})")}")
            : StateMachineArn;

    /// <summary>
    /// Runs <paramref name="run"/> with a client for the parsed options (on <paramref name="httpClient"/>, else an own
    /// one with a 30 s timeout) and turns the usual errors into one line on stderr and an exit code.
    /// </summary>
    public async Task<int> RunAsync(HttpClient? httpClient, Func<StepFunctionsClient, Task<int>> run)
    {
        using var ownHttp = httpClient is null ? new HttpClient { Timeout = TimeSpan.FromSeconds(30) } : null;
        var client = new StepFunctionsClient(httpClient ?? ownHttp!, new StepFunctionsClientOptions
        {
            ServiceUrl = ServiceUrl,
            Region = region,
            StateMachineArn = StateMachineArn,
        });
        try
        {
            return await run(client);
        }
        catch (UsageException e)
        {
            return Usage(e.Message);
        }
        catch (StepFunctionsException e)
        {
            return Fail(e.Message);
        }
        catch (MySqlException e)
        {
            // One line, never the connection string (it carries the password).
            return Fail($"database error: {FirstLine(e.Message)}");
        }
        catch (ArgumentException e)
        {
            return Fail(FirstLine(e.Message));
        }
        catch (Amazon.Runtime.AmazonClientException e)
        {
            return Fail($"no AWS credentials: {FirstLine(e.Message)}");
        }
        catch (InvalidOperationException e) when (e.Message.StartsWith("No AWS region", StringComparison.Ordinal))
        {
            return Usage($"{e.Message} (or pass --region)");
        }
        catch (HttpRequestException e)
        {
            return Fail($"cannot reach Step Functions at {ServiceUrl?.ToString() ?? "AWS"}: {FirstLine(e.Message)}");
        }
    }

    /// <summary>Prints a usage error; returns exit code 2.</summary>
    public int Usage(string message)
    {
        stderr.WriteLine($"{command}: {OneLine(message)} (see ecpay-events {command} --help)");
        return 2;
    }

    /// <summary>Prints why the command failed; returns exit code 1.</summary>
    public int Fail(string message)
    {
        stderr.WriteLine($"{command}: {OneLine(message)}");
        return 1;
    }

    /// <summary>Rows as aligned columns; the last column is free text: no padding after it.</summary>
    public static void WriteTable(List<string[]> rows, TextWriter stdout)
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
            stdout.WriteLine(string.Join("  ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
    }

    private static string FirstLine(string text) => text.Split('\n')[0];

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
