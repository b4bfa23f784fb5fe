using System.CommandLine;
using EcpayEvents.Cli.CommandLine;
using EcpayEvents.Cli.Operations;
using EcpayEvents.Cli.Output;
using EcpayEvents.Ecpay;
using EcpayEvents.Messaging.StepFunctions;
using MySqlConnector;

namespace EcpayEvents.Cli.Commands;

/// <summary>`ecpay-events payment show &lt;MerchantTradeNo | transaction id&gt;`: one payment's whole story (<see cref="PaymentStory"/>).</summary>
public static class PaymentCommand
{
    public static Command Create(CliContext context)
    {
        var key = new Argument<string>("merchant-trade-no | transaction-id") { Description = "the payment: its MerchantTradeNo or transaction id" };
        var askEcpay = new Option<bool>("--ask-ecpay") { Description = "also ask ECPay now (one QueryTradeInfo call; ECPay limits how often)" };
        var show = new Command("show", """
            everything known about one payment as one timeline, oldest first: created, checkout served, every ECPay post
            and QueryTradeInfo answer with its outcome and reason, the ledger entry, review flags and notes, and the
            timeout executions' events; then a verdict and what to do next. Exit 1 when it needs an operator.
            """) { key, askEcpay }.With(context.Options.Database).With(context.Options.Endpoint, context.Options.StateMachineArn, context.Options.EcpayBaseUrl)
            .With(context.Options.SqsEndpoint, context.Options.QueueUrl, context.Options.Region, context.Options.Profile).With(context.Options.Json);
        show.SetAction(async (parse, ct) =>
        {
            var settings = new Settings(parse, context);
            var cs = await settings.ConnectionStringAsync(ct);
            var wanted = parse.GetValue(key)!;
            using var own = ExecutionsCommand.OwnHttp();
            var story = await TellAsync(settings, cs, wanted, parse.GetValue(askEcpay), context, own, ct)
                ?? throw new CommandFailedException($"no payment with MerchantTradeNo or transaction id {wanted}");
            if (settings.Json)
            {
                JsonOutput.Write(context.Stdout, story.ToJson());
                return story.Problem ? ExitCodes.Problem : ExitCodes.Ok;
            }
            Print(story, context);
            return story.Problem ? ExitCodes.Problem : ExitCodes.Ok;
        });
        var payment = new Command("payment", "one payment's whole story");
        payment.Subcommands.Add(show);
        return payment;
    }

    /// <summary>The story of the payment <paramref name="key"/> names, or null when there is none.</summary>
    public static async Task<PaymentStory?> TellAsync(Settings settings, string connectionString, string key, bool askEcpay, CliContext context, HttpClient own, CancellationToken ct)
    {
        PaymentRecord? record;
        await using (var connection = new MySqlConnection(connectionString))
        {
            await connection.OpenAsync(ct);
            record = await PaymentRecord.LoadAsync(connection, key, ct);
        }
        if (record is null) return null;

        PaymentTimerHistory? timers = null;
        string? timersUnknown = null;
        if (record.MerchantTradeNo is { } mtn)
        {
            var (_, arn) = settings.StepFunctionsTarget();
            if (arn is null)
            {
                timersUnknown = "no state machine (pass --endpoint / --state-machine-arn, or set STATE_MACHINE_ARN)";
            }
            else
            {
                try
                {
                    timers = await PaymentTimerHistory.LoadAsync(settings.StepFunctions(own), arn, mtn, ct);
                }
                catch (Exception e) when (e is HttpRequestException or StepFunctionsException or TaskCanceledException or Amazon.Runtime.AmazonClientException)
                {
                    // The database's part of the story is still worth telling.
                    timersUnknown = $"Step Functions could not be asked: {e.Message.Split('\n')[0]}";
                }
            }
        }
        IReadOnlyList<DeadLetters.Letter>? deadLetters = null;
        string? deadLettersUnknown = null;
        if (record.MerchantTradeNo is { } lettered)
        {
            try
            {
                var dlq = await DlqCommand.OpenAsync(null, settings, context, ct);
                deadLetters = [.. (await dlq.PeekAsync(1000, ct)).Where(l => l.MerchantTradeNo == lettered)];
            }
            catch (Exception e) when (e is CommandLine.UsageException or HttpRequestException or TaskCanceledException or Amazon.Runtime.AmazonClientException)
            {
                deadLettersUnknown = e.Message.Split('\n')[0];
            }
        }
        QueryTradeInfoResult? ecpay = null;
        if (askEcpay && record.MerchantTradeNo is { } tradeNo)
        {
            var client = new QueryTradeInfoClient(context.Http ?? own, await settings.EcpayAsync(ct), context.Time);
            ecpay = await client.QueryAsync(tradeNo, ct);
        }
        return PaymentStory.Tell(record, timers, timersUnknown, ecpay, context.Time.GetUtcNow(), deadLetters, deadLettersUnknown);
    }

    private static void Print(PaymentStory story, CliContext context)
    {
        var p = story.Payment;
        var paint = new Paint(context.Color);
        context.Stdout.WriteLine(paint.Bold($"{p.MerchantTradeNo ?? "-"}  transaction {p.Id}  user {p.UserId}  {p.Amount} TWD {p.Type}  {p.Status}"));
        TextTable.Write(context.Stdout, ["TIME (UTC)", "SOURCE", "WHAT"], story.Timeline.Select(e => (IReadOnlyList<string>)[Times.UtcMillis(e.At), e.Source, e.What]));
        context.Stdout.WriteLine((story.Problem ? paint.Red("verdict: ") : paint.Green("verdict: ")) + story.Verdict);
        context.Stdout.WriteLine("next:    " + story.Next);
    }
}
