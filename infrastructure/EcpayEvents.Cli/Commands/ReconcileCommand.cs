using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using EcpayEvents.Cli.CommandLine;
using EcpayEvents.Cli.Operations;
using EcpayEvents.Cli.Output;
using EcpayEvents.Ecpay;
using EcpayEvents.Messaging;
using MySqlConnector;

namespace EcpayEvents.Cli.Commands;

/// <summary>`ecpay-events reconcile --from DATE --to DATE [--apply]`: our books against ECPay's (<see cref="Reconciliation"/>).</summary>
public static class ReconcileCommand
{
    public static Command Create(CliContext context)
    {
        var from = Date("--from", "first day (UTC) of deposits to compare, YYYY-MM-DD");
        var to = Date("--to", "last day (UTC), YYYY-MM-DD");
        var apply = new Option<bool>("--apply") { Description = "enqueue ECPay's paid answer for each deposit we did not credit (through Settlement; never a balance written here)" };
        var interval = new Option<int>("--interval-ms") { Description = "pause between QueryTradeInfo calls (ECPay publishes no limit; it answers 403 and blocks ~30 min when asked too fast)", DefaultValueFactory = _ => 1000, HelpName = "MS" };
        interval.Validators.Add(r => { if (r.ValueOr(0) is < 0 or > 60_000) r.AddError("--interval-ms must be 0–60000"); });
        var reconcile = new Command("reconcile", """
            our completed, failed and expired deposits created in a period against ECPay's QueryTradeInfo answers, one
            query at a time, stopping at ECPay's first 403. Every mismatch with its fix. --apply fixes those ECPay has as
            paid and we did not credit, by enqueueing ECPay's signed answer onto payment-results: Settlement credits
            each once (a second run finds nothing to do). A credit ECPay does not confirm is never reversed: it is
            listed for an operator. Exit 1 if a mismatch remains, 3 if ECPay could not be asked for all of them.
            """) { from, to, apply, interval }
            .With(context.Options.Database).With(context.Options.EcpayBaseUrl, context.Options.SqsEndpoint, context.Options.QueueUrl).With(context.Options.Json);
        reconcile.Validators.Add(r =>
        {
            if (r.GetValue(from) is { } f && r.GetValue(to) is { } t && Reconciliation.TryParseDate(f, out var a) && Reconciliation.TryParseDate(t, out var b) && b < a)
                r.AddError("--to is before --from");
        });
        reconcile.SetAction(async (parse, ct) =>
        {
            var settings = new Settings(parse, context);
            Reconciliation.TryParseDate(parse.GetValue(from)!, out var first);
            Reconciliation.TryParseDate(parse.GetValue(to)!, out var last);
            var applying = parse.GetValue(apply);
            var cs = await settings.ConnectionStringAsync(ct);
            var ecpayOptions = await settings.EcpayAsync(ct);
            PaymentResultPublisher? publisher = null;
            if (applying)
            {
                var (sqs, queueUrl) = settings.Sqs();
                publisher = new PaymentResultPublisher(sqs, queueUrl, TimeSpan.FromSeconds(30));
            }
            IReadOnlyList<Reconciliation.Ours> deposits;
            await using (var connection = new MySqlConnection(cs))
            {
                await connection.OpenAsync(ct);
                deposits = await Reconciliation.LoadAsync(connection, first, last, ct);
            }
            using var own = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var client = new QueryTradeInfoClient(context.Http ?? own, ecpayOptions, context.Time);
            var report = await new Reconciliation(client, publisher, context.Time).RunAsync(deposits, applying, TimeSpan.FromMilliseconds(parse.GetValue(interval)), ct);
            var mismatches = report.Findings.Where(f => f.Mismatch is not null).ToList();
            var open = mismatches.Count(m => !m.Enqueued);
            if (settings.Json)
            {
                JsonOutput.Write(context.Stdout, new JsonObject
                {
                    ["from"] = parse.GetValue(from), ["to"] = parse.GetValue(to), ["applied"] = applying,
                    ["compared"] = report.Findings.Count, ["notAsked"] = report.NotAsked, ["stoppedBecause"] = report.StoppedBecause,
                    ["mismatches"] = new JsonArray([.. mismatches.Select(m => (JsonNode)new JsonObject
                    {
                        ["merchantTradeNo"] = m.Deposit.MerchantTradeNo, ["transactionId"] = m.Deposit.Id, ["ours"] = m.Deposit.Status, ["amount"] = m.Deposit.Amount,
                        ["ecpay"] = m.Ecpay, ["mismatch"] = m.Mismatch, ["fix"] = m.Fix, ["enqueued"] = m.Enqueued,
                    })]),
                });
            }
            else
            {
                if (mismatches.Count > 0)
                    TextTable.Write(context.Stdout, ["MERCHANT TRADE NO", "TRANSACTION", "OURS", "ECPAY", "MISMATCH", "FIX"], mismatches.Select(m => (IReadOnlyList<string>)
                        [m.Deposit.MerchantTradeNo, m.Deposit.Id.ToString(CultureInfo.InvariantCulture), $"{m.Deposit.Status} {m.Deposit.Amount} TWD", m.Ecpay, m.Mismatch!, m.Fix!]));
                context.Stdout.WriteLine($"compared {report.Findings.Count} deposit(s) from {parse.GetValue(from)} to {parse.GetValue(to)}: {report.Findings.Count - mismatches.Count} agree, "
                    + $"{mismatches.Count} mismatch(es){(applying ? $", {mismatches.Count - open} fixed by enqueueing ECPay's answer" : "")}");
                if (report.StoppedBecause is not null) context.Stderr.WriteLine($"ecpay-events reconcile: stopped with {report.NotAsked} not asked: {report.StoppedBecause}");
            }
            return open > 0 ? ExitCodes.Problem : report.StoppedBecause is not null ? ExitCodes.Unavailable : ExitCodes.Ok;
        });
        return reconcile;
    }

    private static Option<string> Date(string name, string description)
    {
        var option = new Option<string>(name) { Description = description, Required = true, HelpName = "YYYY-MM-DD" };
        option.Validators.Add(r =>
        {
            if (!Reconciliation.TryParseDate(r.GetValueOrDefault<string>() ?? "", out _)) r.AddError($"{name} must be a date, YYYY-MM-DD");
        });
        return option;
    }
}
