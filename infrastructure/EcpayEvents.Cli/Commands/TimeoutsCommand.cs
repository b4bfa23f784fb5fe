using System.Globalization;
using System.Text.RegularExpressions;
using EcpayEvents.Messaging.StepFunctions;
using MySqlConnector;

namespace EcpayEvents.Cli.Commands;

/// <summary>
/// `ecpay-events timeouts audit` — pending deposits whose payment-timeout execution is missing or not RUNNING
/// (after NeedsReview, an operator's StopExecution, or a deposit made while scheduling was disabled).
/// `ecpay-events timeouts rearm &lt;merchantTradeNo&gt;|--all-orphaned` — give them a new execution.
/// Exit codes: audit 0 none, 1 some (or a service error); rearm 0 done, 1 refused or failed; 2 bad usage.
/// </summary>
public static partial class TimeoutsCommand
{
    public const string Usage = """
        usage: ecpay-events timeouts audit
               ecpay-events timeouts rearm <merchant-trade-no> | --all-orphaned
          audit    lists pending deposits (from the database) whose payment-timeout execution is missing or
                   not RUNNING (DescribeExecution); exit 0 when there are none, 1 when there are some
          rearm    starts a new execution for a pending deposit without a running one, named
                   <merchant-trade-no>-r<n> (n = 1, 2, … ; the MerchantTradeNo itself if it never had one),
                   waiting until the deposit's expires_at, or firing now if that is past
          --connection-string CS    default $DATABASE_CONNECTION_STRING
          --endpoint URL            Step Functions endpoint; default $STEPFUNCTIONS_ENDPOINT, else AWS
                                    (the local server: http://127.0.0.1:4584)
          --state-machine-arn ARN   default $STATE_MACHINE_ARN; with a local endpoint, the local
                                    payment-timeout state machine
          --region REGION           default: the AWS SDK's chain (AWS_REGION, profile)
        credentials come from the AWS SDK's chain (environment, profile, role); a local endpoint needs none.
        example: ecpay-events timeouts audit --endpoint http://127.0.0.1:4584
        """;

    public static Task<int> RunAsync(string[] args) =>
        RunAsync(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable);

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, Func<string, string?> environment,
        HttpClient? httpClient = null, TimeProvider? time = null)
    {
        if (args is [] or ["-h" or "--help" or "help", ..])
        {
            (args.Length == 0 ? stderr : stdout).WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        string? connectionString = environment("DATABASE_CONNECTION_STRING"), endpoint = environment("STEPFUNCTIONS_ENDPOINT"),
            stateMachineArn = environment("STATE_MACHINE_ARN"), region = null;
        var allOrphaned = false;
        var positional = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            string? Value() => i + 1 < args.Length ? args[++i] : null;
            string? value;
            switch (args[i])
            {
                case "--connection-string": value = connectionString = Value(); break;
                case "--endpoint": value = endpoint = Value(); break;
                case "--state-machine-arn": value = stateMachineArn = Value(); break;
                case "--region": value = region = Value(); break;
                case "--all-orphaned": allOrphaned = true; continue;
                case var flag when flag.StartsWith("--", StringComparison.Ordinal): return Usage2(stderr, $"unknown option {flag}");
                default: positional.Add(args[i]); continue;
            }
            if (value is null) return Usage2(stderr, $"{args[i]} needs a value");
        }

        var command = positional.FirstOrDefault();
        string? merchantTradeNo = null;
        switch (command, positional.Count, allOrphaned)
        {
            case ("audit", 1, false):
                break;
            case ("rearm", 2, false):
                merchantTradeNo = positional[1];
                if (!MerchantTradeNoPattern().IsMatch(merchantTradeNo))
                    return Usage2(stderr, $"'{merchantTradeNo}' is not a MerchantTradeNo (1–20 letters and digits)");
                break;
            case ("rearm", 1, true):
                break;
            case ("rearm", _, _):
                return Usage2(stderr, "rearm takes one MerchantTradeNo or --all-orphaned");
            case ("audit", _, _):
                return Usage2(stderr, "audit takes no arguments");
            default:
                return Usage2(stderr, "expected audit or rearm");
        }

        if (string.IsNullOrWhiteSpace(connectionString))
            return Usage2(stderr, "no database: pass --connection-string or set DATABASE_CONNECTION_STRING");
        try
        {
            _ = new MySqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            return Usage2(stderr, $"bad connection string: {e.Message.Split('\n')[0]}");
        }
        Uri? serviceUrl = null;
        if (!string.IsNullOrEmpty(endpoint) && !(Uri.TryCreate(endpoint, UriKind.Absolute, out serviceUrl) && serviceUrl.Scheme is "http" or "https"))
            return Usage2(stderr, $"--endpoint {endpoint} is not a URL");
        if (string.IsNullOrEmpty(stateMachineArn) && serviceUrl is { IsLoopback: true })
            stateMachineArn = ExecutionsCommand.LocalStateMachineArn;
        if (string.IsNullOrEmpty(stateMachineArn))
            return Usage2(stderr, "no state machine: pass --state-machine-arn or set STATE_MACHINE_ARN");
        if (!stateMachineArn.Contains(":stateMachine:", StringComparison.Ordinal))
            return Usage2(stderr, $"--state-machine-arn {stateMachineArn} is not a state machine ARN");

        using var ownHttp = httpClient is null ? new HttpClient { Timeout = TimeSpan.FromSeconds(30) } : null;
        var client = new StepFunctionsClient(httpClient ?? ownHttp!, new StepFunctionsClientOptions
        {
            ServiceUrl = serviceUrl,
            Region = region,
            StateMachineArn = stateMachineArn,
        });
        var timers = new PaymentTimers(client, stateMachineArn, connectionString, time ?? TimeProvider.System);

        try
        {
            return command == "audit" ? await AuditAsync(timers, stdout)
                : merchantTradeNo is not null ? await RearmOneAsync(timers, merchantTradeNo, stdout, stderr)
                : await RearmAllAsync(timers, stdout, stderr);
        }
        catch (StepFunctionsException e)
        {
            return Fail(stderr, e.Message);
        }
        catch (MySqlException e)
        {
            // One line, never the connection string (it carries the password).
            return Fail(stderr, $"database error: {e.Message.Split('\n')[0]}");
        }
        catch (ArgumentException e)
        {
            return Fail(stderr, e.Message.Split('\n')[0]);
        }
        catch (Amazon.Runtime.AmazonClientException e)
        {
            return Fail(stderr, $"no AWS credentials: {e.Message.Split('\n')[0]}");
        }
        catch (InvalidOperationException e) when (e.Message.StartsWith("No AWS region", StringComparison.Ordinal))
        {
            return Usage2(stderr, $"{e.Message} (or pass --region)");
        }
        catch (HttpRequestException e)
        {
            return Fail(stderr, $"cannot reach Step Functions at {serviceUrl?.ToString() ?? "AWS"}: {e.Message.Split('\n')[0]}");
        }
    }

    private static async Task<int> AuditAsync(PaymentTimers timers, TextWriter stdout)
    {
        var (checkedCount, orphaned) = await timers.AuditAsync();
        if (orphaned.Count == 0)
        {
            stdout.WriteLine(checkedCount == 0 ? "no pending deposits" : $"every pending deposit has a running timeout ({checkedCount} checked)");
            return 0;
        }
        var rows = new List<string[]> { new[] { "MERCHANT TRADE NO", "TRANSACTION", "EXPIRES (UTC)", "LATEST EXECUTION", "STATUS" } };
        rows.AddRange(orphaned.Select(o => new[]
        {
            o.Payment.MerchantTradeNo,
            o.Payment.TransactionId.ToString(CultureInfo.InvariantCulture),
            o.Payment.ExpiresAt is { } at ? Time(at) : "-",
            o.Latest?.Name ?? "-",
            o.Describe(),
        }));
        WriteTable(rows, stdout);
        stdout.WriteLine($"{orphaned.Count} of {checkedCount} pending deposit(s) have no running timeout: ecpay-events timeouts rearm <merchant-trade-no> | --all-orphaned");
        return 1;
    }

    private static async Task<int> RearmOneAsync(PaymentTimers timers, string merchantTradeNo, TextWriter stdout, TextWriter stderr)
    {
        var found = await timers.FindAsync(merchantTradeNo);
        if (found is not { } deposit)
            return Fail(stderr, $"no deposit with MerchantTradeNo {merchantTradeNo}");
        if (deposit.Status != "pending")
            return Fail(stderr, $"{merchantTradeNo} is {deposit.Status}, not pending: it needs no timeout");
        Report(await timers.RearmAsync(deposit.Payment), stdout);
        return 0;
    }

    private static async Task<int> RearmAllAsync(PaymentTimers timers, TextWriter stdout, TextWriter stderr)
    {
        var (checkedCount, orphaned) = await timers.AuditAsync();
        var failed = 0;
        foreach (var orphan in orphaned)
        {
            try
            {
                Report(await timers.RearmAsync(orphan.Payment), stdout);
            }
            catch (StepFunctionsException e)
            {
                // Keep going: one refused start must not leave the others without a timer.
                stderr.WriteLine($"timeouts: {orphan.Payment.MerchantTradeNo}: {e.Message}");
                failed++;
            }
        }
        stdout.WriteLine($"rearmed {orphaned.Count - failed} of {orphaned.Count} orphaned timeout(s) ({checkedCount} pending deposit(s) checked)");
        return failed == 0 ? 0 : 1;
    }

    private static void Report(RearmResult r, TextWriter stdout)
    {
        var until = r.WaitsUntil is { } at ? $"{Time(at)} UTC" : "?";
        stdout.WriteLine(r.AlreadyArmed
            ? $"{r.Payment.MerchantTradeNo}: already has a running timeout, {r.ExecutionName} (until {until}); nothing to do"
            : $"{r.Payment.MerchantTradeNo}: rearmed as {r.ExecutionName} (transaction {r.Payment.TransactionId}), waiting until {until}");
    }

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static void WriteTable(List<string[]> rows, TextWriter stdout)
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
            stdout.WriteLine(string.Join("  ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
    }

    private static int Usage2(TextWriter stderr, string message)
    {
        stderr.WriteLine($"timeouts: {OneLine(message)} (see ecpay-events timeouts --help)");
        return 2;
    }

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine($"timeouts: {OneLine(message)}");
        return 1;
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    [GeneratedRegex("^[A-Za-z0-9]{1,20}$")]
    private static partial Regex MerchantTradeNoPattern();
}
