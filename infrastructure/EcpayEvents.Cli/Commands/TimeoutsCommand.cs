using System.Globalization;
using System.Text.RegularExpressions;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments;
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

        var cli = new StepFunctionsCommandLine("timeouts", stderr, environment);
        var connectionString = environment("DATABASE_CONNECTION_STRING");
        var allOrphaned = false;
        var parsed = cli.TryParse(args, (option, value) =>
        {
            switch (option)
            {
                case "--connection-string": connectionString = value(); return true;
                case "--all-orphaned": allOrphaned = true; return true;
                default: return false;
            }
        });
        if (!parsed)
            return 2;

        var positional = cli.Positional;
        var command = positional.FirstOrDefault();
        string? merchantTradeNo = null;
        switch (command, positional.Count, allOrphaned)
        {
            case ("audit", 1, false):
                break;
            case ("rearm", 2, false):
                merchantTradeNo = positional[1];
                if (!MerchantTradeNoPattern().IsMatch(merchantTradeNo))
                    return cli.Usage($"'{merchantTradeNo}' is not a MerchantTradeNo (1–20 letters and digits)");
                break;
            case ("rearm", 1, true):
                break;
            case ("rearm", _, _):
                return cli.Usage("rearm takes one MerchantTradeNo or --all-orphaned");
            case ("audit", _, _):
                return cli.Usage("audit takes no arguments");
            default:
                return cli.Usage("expected audit or rearm");
        }

        if (string.IsNullOrWhiteSpace(connectionString))
            return cli.Usage("no database: pass --connection-string or set DATABASE_CONNECTION_STRING");
        try
        {
            _ = new MySqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            return cli.Usage($"bad connection string: {e.Message.Split('\n')[0]}");
        }
        if (cli.StateMachineArn is not { Length: > 0 } stateMachineArn)
            return cli.Usage("no state machine: pass --state-machine-arn or set STATE_MACHINE_ARN");

        await using var database = new PaymentsDatabase(connectionString);
        return await cli.RunAsync(httpClient, client =>
        {
            var timers = new PaymentTimers(client, stateMachineArn, database, time ?? TimeProvider.System);
            return command == "audit" ? AuditAsync(timers, stdout)
                : merchantTradeNo is not null ? RearmOneAsync(timers, merchantTradeNo, stdout, cli)
                : RearmAllAsync(timers, stdout, stderr);
        });
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
        StepFunctionsCommandLine.WriteTable(rows, stdout);
        stdout.WriteLine($"{orphaned.Count} of {checkedCount} pending deposit(s) have no running timeout: ecpay-events timeouts rearm <merchant-trade-no> | --all-orphaned");
        return 1;
    }

    private static async Task<int> RearmOneAsync(PaymentTimers timers, string merchantTradeNo, TextWriter stdout, StepFunctionsCommandLine cli)
    {
        var found = await timers.FindAsync(merchantTradeNo);
        if (found is not { } deposit)
            return cli.Fail($"no deposit with MerchantTradeNo {merchantTradeNo}");
        if (deposit.Status != "pending")
            return cli.Fail($"{merchantTradeNo} is {deposit.Status}, not pending: it needs no timeout");
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

    [GeneratedRegex("^[A-Za-z0-9]{1,20}$")]
    private static partial Regex MerchantTradeNoPattern();
}
