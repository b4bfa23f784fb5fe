using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EcpayEvents.Cli.CommandLine;
using EcpayEvents.Cli.Output;
using EcpayEvents.Cli.Timers;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments;

namespace EcpayEvents.Cli.Commands;

/// <summary>
/// `ecpay-events timeouts audit` — pending deposits whose payment-timeout execution is missing or not RUNNING
/// (after NeedsReview, an operator's StopExecution, or a deposit made while scheduling was disabled).
/// `ecpay-events timeouts rearm &lt;merchantTradeNo&gt;|--all-orphaned` — give them a new execution.
/// Exit codes: audit 0 none, 1 some (or a service error); rearm 0 done, 1 refused or failed; 2 bad usage.
/// </summary>
public static partial class TimeoutsCommand
{
    /// <summary>`ecpay-events timeouts ARGS` in this process (for tests and callers that hold an HTTP client).</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, Func<string, string?> environment,
        HttpClient? httpClient = null, TimeProvider? time = null) =>
        EcpayEventsCommandLine.InvokeAsync(["timeouts", .. args], CliContext.For(stdout, stderr, environment, httpClient, time));

    public static Command Create(CliContext context)
    {
        var timeouts = new Command("timeouts", "pending deposits without a running payment-timeout execution, and re-arming them");
        var audit = new Command("audit", """
            pending deposits (from the database) whose payment-timeout execution is missing or not RUNNING
            (DescribeExecution); exit 0 when there are none, 1 when there are some
            """).With(context.Options.Database).With(context.Options.StepFunctions).With(context.Options.Json);
        audit.SetAction((parse, ct) => RunAsync(parse, context, (timers, json) => AuditAsync(timers, json, context.Stdout)));

        var tradeNo = new Argument<string?>("merchant-trade-no") { Description = "the pending deposit to re-arm", Arity = ArgumentArity.ZeroOrOne };
        tradeNo.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } t && !MerchantTradeNoPattern().IsMatch(t)) r.AddError($"'{t}' is not a MerchantTradeNo (1–20 letters and digits)");
        });
        var allOrphaned = new Option<bool>("--all-orphaned") { Description = "every pending deposit that timeouts audit lists" };
        var rearm = new Command("rearm", """
            start a new execution for a pending deposit without a running one, named <merchant-trade-no>-r<n>
            (n = 1, 2, …; the MerchantTradeNo itself if it never had one), waiting until the deposit's expires_at,
            or firing now if that is past
            """) { tradeNo, allOrphaned }.With(context.Options.Database).With(context.Options.StepFunctions);
        rearm.Validators.Add(r =>
        {
            if ((r.GetValue(tradeNo) is null) == !r.GetValue(allOrphaned)) r.AddError("rearm takes one MerchantTradeNo or --all-orphaned");
        });
        rearm.SetAction((parse, ct) => RunAsync(parse, context, (timers, _) => parse.GetValue(tradeNo) is { } one
            ? RearmOneAsync(timers, one, context.Stdout)
            : RearmAllAsync(timers, context.Stdout, context.Stderr)));
        timeouts.Subcommands.Add(audit);
        timeouts.Subcommands.Add(rearm);
        return timeouts;
    }

    private static async Task<int> RunAsync(ParseResult parse, CliContext context, Func<PaymentTimers, bool, Task<int>> run)
    {
        var settings = new Settings(parse, context);
        settings.RequireDatabaseSetting();
        var stateMachineArn = settings.RequireStateMachine();
        var connectionString = await settings.ConnectionStringAsync(CancellationToken.None);
        using var own = ExecutionsCommand.OwnHttp();
        await using var database = new PaymentsDatabase(connectionString);
        var timers = new PaymentTimers(settings.StepFunctions(own), stateMachineArn, database, context.Time);
        return await run(timers, settings.Json);
    }

    private static async Task<int> AuditAsync(PaymentTimers timers, bool json, TextWriter stdout)
    {
        var (checkedCount, orphaned) = await timers.AuditAsync();
        if (json)
        {
            JsonOutput.Write(stdout, new JsonObject
            {
                ["checked"] = checkedCount,
                ["orphaned"] = new JsonArray([.. orphaned.Select(o => (JsonNode)new JsonObject
                {
                    ["merchantTradeNo"] = o.Payment.MerchantTradeNo, ["transactionId"] = o.Payment.TransactionId,
                    ["expiresAt"] = JsonOutput.Time(o.Payment.ExpiresAt), ["latestExecution"] = o.Latest?.Name, ["status"] = o.Describe(),
                })]),
            });
            return orphaned.Count == 0 ? ExitCodes.Ok : ExitCodes.Problem;
        }
        if (orphaned.Count == 0)
        {
            stdout.WriteLine(checkedCount == 0 ? "no pending deposits" : $"every pending deposit has a running timeout ({checkedCount} checked)");
            return 0;
        }
        TextTable.Write(stdout, ["MERCHANT TRADE NO", "TRANSACTION", "EXPIRES (UTC)", "LATEST EXECUTION", "STATUS"], orphaned.Select(o => (IReadOnlyList<string>)
        [
            o.Payment.MerchantTradeNo,
            o.Payment.TransactionId.ToString(CultureInfo.InvariantCulture),
            o.Payment.ExpiresAt is { } at ? Time(at) : "-",
            o.Latest?.Name ?? "-",
            o.Describe(),
        ]));
        stdout.WriteLine($"{orphaned.Count} of {checkedCount} pending deposit(s) have no running timeout: ecpay-events timeouts rearm <merchant-trade-no> | --all-orphaned");
        return 1;
    }

    private static async Task<int> RearmOneAsync(PaymentTimers timers, string merchantTradeNo, TextWriter stdout)
    {
        var found = await timers.FindAsync(merchantTradeNo);
        if (found is not { } deposit)
            throw new CommandFailedException($"no deposit with MerchantTradeNo {merchantTradeNo}");
        if (deposit.Status != "pending")
            throw new CommandFailedException($"{merchantTradeNo} is {deposit.Status}, not pending: it needs no timeout");
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
                stderr.WriteLine($"ecpay-events timeouts rearm: {orphan.Payment.MerchantTradeNo}: {e.Message}");
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

    private static string Time(DateTimeOffset t) => Times.Utc(t);

    [GeneratedRegex("^[A-Za-z0-9]{1,20}$")]
    private static partial Regex MerchantTradeNoPattern();
}
