using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using EcpayEvents.Cli.CommandLine;
using EcpayEvents.Cli.Operations;
using EcpayEvents.Cli.Output;
using MySqlConnector;

namespace EcpayEvents.Cli.Commands;

/// <summary>`ecpay-events dlq list|redrive`: the payment-results dead-letter queue (<see cref="DeadLetters"/>).</summary>
public static class DlqCommand
{
    public static Command Create(CliContext context)
    {
        var dlqUrlOption = new Option<string>("--dlq-url")
        {
        Description = "the dead-letter queue; default $PAYMENT_RESULTS_DLQ_URL, else the local stack's, else payment-results' RedrivePolicy",
            HelpName = "URL",
        };
        var limit = new Option<int>("--limit") { Description = "at most N messages (1–1000)", DefaultValueFactory = _ => 100, HelpName = "N" };
        limit.Validators.Add(r => { if (r.ValueOr(1) is < 1 or > 1000) r.AddError("--limit must be 1–1000"); });
        var list = new Command("list", """
            the messages Settlement gave up on (after 5 receives): age, receive count, the MerchantTradeNo and source,
            and why where it is known (an unreadable body, an order we do not have, the payment's status now).
            Messages stay in the queue. Exit 1 if there are any.
            """) { dlqUrlOption, limit }.With(context.Options.SqsEndpoint, context.Options.QueueUrl, context.Options.Region, context.Options.Profile).With(context.Options.Database).With(context.Options.Json);
        list.SetAction(async (parse, ct) =>
        {
            var settings = new Settings(parse, context);
            var dlq = await OpenAsync(parse.GetValue(dlqUrlOption), settings, context, ct);
            var letters = await dlq.PeekAsync(parse.GetValue(limit), ct);
            var why = await WhyAsync(settings, letters, ct);
            var now = context.Time.GetUtcNow();
            if (settings.Json)
            {
                JsonOutput.Write(context.Stdout, new JsonObject
                {
                    ["deadLetterQueueUrl"] = dlq.DeadLetterQueueUrl,
                    ["messages"] = new JsonArray([.. letters.Select(l => (JsonNode)new JsonObject
                    {
                        ["messageId"] = l.MessageId, ["sentAt"] = JsonOutput.Time(l.SentAt), ["ageSeconds"] = (long)(now - l.SentAt).TotalSeconds,
                        ["receiveCount"] = l.ReceiveCount, ["merchantTradeNo"] = l.MerchantTradeNo, ["source"] = l.Source, ["why"] = why[l.MessageId],
                    })]),
                });
                return letters.Count == 0 ? ExitCodes.Ok : ExitCodes.Problem;
            }
            if (letters.Count == 0)
            {
                context.Stdout.WriteLine("the dead-letter queue is empty");
                return ExitCodes.Ok;
            }
            TextTable.Write(context.Stdout, ["MESSAGE ID", "AGE", "RECEIVES", "MERCHANT TRADE NO", "SOURCE", "WHY"], letters.Select(l => (IReadOnlyList<string>)
                [l.MessageId, Times.Duration(now - l.SentAt), l.ReceiveCount.ToString(CultureInfo.InvariantCulture), l.MerchantTradeNo ?? "-", l.Source ?? "-", why[l.MessageId]]));
            context.Stdout.WriteLine($"{letters.Count} message(s): once the cause is fixed, ecpay-events dlq redrive [--id MESSAGE-ID] (settled once each, whatever happened before)");
            return ExitCodes.Problem;
        });

        var dryRun = new Option<bool>("--dry-run") { Description = "only say which messages would move" };
        var ids = new Option<string[]>("--id") { Description = "only this message (repeatable); default every message", HelpName = "MESSAGE-ID", AllowMultipleArgumentsPerToken = false };
        var redrive = new Command("redrive", """
            move messages back onto payment-results, where Settlement takes them again: each is sent as it was, then
            deleted from the DLQ. Settlement records every result once, so a message redriven twice settles once.
            Exit 1 if an --id was not found.
            """) { dryRun, ids, dlqUrlOption, limit }.With(context.Options.SqsEndpoint, context.Options.QueueUrl, context.Options.Region, context.Options.Profile).With(context.Options.Json);
        redrive.SetAction(async (parse, ct) =>
        {
            var settings = new Settings(parse, context);
            var dlq = await OpenAsync(parse.GetValue(dlqUrlOption), settings, context, ct);
            var wanted = parse.GetValue(ids) is { Length: > 0 } given ? new HashSet<string>(given, StringComparer.Ordinal) : null;
            var dry = parse.GetValue(dryRun);
            var moved = await dlq.RedriveAsync(wanted, dry, parse.GetValue(limit), ct);
            var missing = wanted?.Except(moved.Select(m => m.MessageId)).ToList() ?? [];
            if (settings.Json)
            {
                JsonOutput.Write(context.Stdout, new JsonObject
                {
                    ["dryRun"] = dry,
                    ["moved"] = new JsonArray([.. moved.Select(m => (JsonNode)new JsonObject { ["messageId"] = m.MessageId, ["merchantTradeNo"] = m.MerchantTradeNo })]),
                    ["notFound"] = new JsonArray([.. missing.Select(m => (JsonNode)JsonValue.Create(m))]),
                });
            }
            else
            {
                foreach (var m in moved)
                    context.Stdout.WriteLine($"{(dry ? "would move" : "moved")} {m.MessageId} ({m.MerchantTradeNo ?? "?"}) onto payment-results");
                foreach (var id in missing) context.Stderr.WriteLine($"ecpay-events dlq redrive: no message {id} in the dead-letter queue");
                context.Stdout.WriteLine($"{(dry ? "would move" : "moved")} {moved.Count} message(s)");
            }
            return missing.Count == 0 ? ExitCodes.Ok : ExitCodes.Problem;
        });
        var dlqCommand = new Command("dlq", "the payment-results dead-letter queue");
        dlqCommand.Subcommands.Add(list);
        dlqCommand.Subcommands.Add(redrive);
        return dlqCommand;
    }

    internal static async Task<DeadLetters> OpenAsync(string? given, Settings settings, CliContext context, CancellationToken ct)
    {
        var (sqs, queueUrl) = settings.Sqs();
        var dlqUrl = given ?? context.Environment("PAYMENT_RESULTS_DLQ_URL");
        if (string.IsNullOrEmpty(dlqUrl) && context.Local?.QueueUrl == queueUrl) dlqUrl = context.Local.DeadLetterQueueUrl;
        if (string.IsNullOrEmpty(dlqUrl)) dlqUrl = await DeadLetters.FindDeadLetterQueueAsync(sqs, queueUrl, ct);
        return new DeadLetters(sqs, queueUrl, dlqUrl);
    }

    /// <summary>Why each message is there, as far as the message and (when it can be asked) the database tell.</summary>
    private static async Task<Dictionary<string, string>> WhyAsync(Settings settings, IReadOnlyList<DeadLetters.Letter> letters, CancellationToken ct)
    {
        var why = letters.ToDictionary(l => l.MessageId, l => l.Unreadable ?? "Settlement failed it on every receive (see its logs at that time)");
        string? cs;
        try
        {
            cs = await settings.ConnectionStringAsync(ct);
        }
        catch (UsageException)
        {
            return why; // no database given: the queue's part only
        }
        await using var connection = new MySqlConnection(cs);
        await connection.OpenAsync(ct);
        foreach (var letter in letters.Where(l => l.Unreadable is null && l.MerchantTradeNo is not null))
        {
            await using var cmd = new MySqlCommand("SELECT id, status FROM transactions WHERE merchant_trade_no = @m", connection);
            cmd.Parameters.AddWithValue("@m", letter.MerchantTradeNo);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            why[letter.MessageId] = await r.ReadAsync(ct)
                ? $"{why[letter.MessageId]}; transaction {r.GetInt64(0)} is {r.GetString(1)} now"
                : "no transaction has this MerchantTradeNo (Settlement records such a result as rejected: it failed before that)";
        }
        return why;
    }
}
