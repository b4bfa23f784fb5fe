using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using EcpayEvents.Cli.CommandLine;
using EcpayEvents.Cli.Operations;
using EcpayEvents.Cli.Output;
using EcpayEvents.Cli.Timers;
using EcpayEvents.Payments;
using MySqlConnector;

namespace EcpayEvents.Cli.Commands;

/// <summary>`ecpay-events payments stuck`: every payment that needs an operator (<see cref="StuckPayments"/>), each with the `payment show` line to run next.</summary>
public static class PaymentsCommand
{
    public static Command Create(CliContext context)
    {
        var hours = new Option<int>("--hours") { Description = "rejected posts of the last N hours (1–8760)", DefaultValueFactory = _ => 24, HelpName = "N" };
        hours.Validators.Add(r => { if (r.ValueOr(1) is < 1 or > 8760) r.AddError("--hours must be a whole number of hours from 1 to 8760"); });
        var stuck = new Command("stuck", """
            payments that need an operator: pending past their expiry, pending without a running timeout execution
            (failed / timed out / NeedsReview / stopped / never started), credited after expiry and not yet reviewed,
            rejected posts in the last --hours. Each with the `payment show` line to run next. Exit 1 if there are any.
            Without a state machine (--endpoint / --state-machine-arn) the executions are not checked, and it says so.
            """) { hours }.With(context.Options.Database).With(context.Options.StepFunctions).With(context.Options.Json);
        stuck.SetAction(async (parse, ct) =>
        {
            var settings = new Settings(parse, context);
            var cs = await settings.ConnectionStringAsync(ct);
            var (_, arn) = settings.StepFunctionsTarget();
            using var own = ExecutionsCommand.OwnHttp();
            await using var database = new PaymentsDatabase(cs);
            var timers = arn is null ? null : new PaymentTimers(settings.StepFunctions(own), arn, database, context.Time);
            await using var connection = new MySqlConnection(cs);
            await connection.OpenAsync(ct);
            var problems = await StuckPayments.FindAsync(connection, timers, TimeSpan.FromHours(parse.GetValue(hours)), context.Time.GetUtcNow(), ct);
            static string Next(StuckPayments.Problem p) => p.TransactionId is { } id ? $"ecpay-events payment show {(p.MerchantTradeNo != "-" ? p.MerchantTradeNo : id.ToString(CultureInfo.InvariantCulture))}" : "ecpay-events db review";
            if (settings.Json)
            {
                JsonOutput.Write(context.Stdout, new JsonObject
                {
                    ["executionsChecked"] = timers is not null,
                    ["problems"] = new JsonArray([.. problems.Select(p => (JsonNode)new JsonObject
                    {
                        ["kind"] = p.Kind, ["merchantTradeNo"] = p.MerchantTradeNo, ["transactionId"] = p.TransactionId, ["detail"] = p.Detail, ["next"] = Next(p),
                    })]),
                });
                return problems.Count == 0 ? ExitCodes.Ok : ExitCodes.Problem;
            }
            if (timers is null) context.Stderr.WriteLine("ecpay-events payments stuck: no state machine: timeout executions not checked (pass --endpoint / --state-machine-arn)");
            if (problems.Count == 0)
            {
                context.Stdout.WriteLine("nothing stuck");
                return ExitCodes.Ok;
            }
            var paint = new Paint(context.Color);
            TextTable.Write(context.Stdout, ["KIND", "MERCHANT TRADE NO", "TRANSACTION", "NEXT", "DETAIL"], problems.Select(p => (IReadOnlyList<string>)
                [p.Kind, p.MerchantTradeNo, p.TransactionId?.ToString(CultureInfo.InvariantCulture) ?? "-", Next(p), p.Detail]), (c, text) => c == 0 ? paint.Red(text) : text);
            context.Stdout.WriteLine($"{problems.Count} problem(s)");
            return ExitCodes.Problem;
        });
        var payments = new Command("payments", "payments that need an operator");
        payments.Subcommands.Add(stuck);
        return payments;
    }
}
