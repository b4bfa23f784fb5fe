using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.SQS.Model;
using EcpayEvents.Cli.CommandLine;
using EcpayEvents.Ecpay;
using EcpayEvents.Messaging;
using EcpayEvents.Payments.Settlement;
using EcpayEvents.Testing;

namespace EcpayEvents.Timeouts.Tests;

/// <summary>
/// The operators' commands (`payment show`, `payments stuck`, `dlq`, `reconcile`) against the real parts — MariaDB,
/// fauxqs with its DLQ, Settlement fed from the queue, the state machine on the local Step Functions server, the
/// signed QueryTradeInfo stand-in — with payments in every state. Run in this process, as `ecpay-events` would.
/// </summary>
public sealed class OperatorCommandsTests(TimeoutStack stack) : IClassFixture<TimeoutStack>, IAsyncLifetime
{
    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await stack.Database.AssertLedgerInvariantAsync();

    private Dictionary<string, string?> Environment => new()
    {
        ["DATABASE_CONNECTION_STRING"] = stack.Database.ConnectionString,
        ["STEPFUNCTIONS_ENDPOINT"] = stack.StepFunctions.Endpoint.ToString(),
        ["SQS_ENDPOINT"] = stack.Sqs.Endpoint,
        ["PAYMENT_RESULTS_QUEUE_URL"] = stack.Sqs.QueueUrl,
        ["PAYMENT_RESULTS_DLQ_URL"] = stack.Sqs.DeadLetterQueueUrl,
        ["ECPAY_BASE_URL"] = stack.Ecpay.BaseUrl.ToString(),
        ["ECPAY_MERCHANT_ID"] = TimeoutStack.Credentials.MerchantId,
        ["ECPAY_HASH_KEY"] = TimeoutStack.Credentials.HashKey,
        ["ECPAY_HASH_IV"] = TimeoutStack.Credentials.HashIv,
    };

    private async Task<(int ExitCode, string Stdout, string Stderr)> CliAsync(params string[] args)
    {
        var env = Environment;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await EcpayEventsCommandLine.InvokeAsync(args, CliContext.For(stdout, stderr, name => env.GetValueOrDefault(name)));
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private async Task<(int ExitCode, JsonNode Json)> JsonAsync(params string[] args)
    {
        var (exit, stdout, stderr) = await CliAsync([.. args, "--json"]);
        Assert.True(stderr.Length == 0 || exit != 2, stderr);
        return (exit, JsonNode.Parse(stdout) ?? throw new InvalidOperationException($"no JSON: {stdout}{stderr}"));
    }

    private static string TradeNo() => "25" + Random.Shared.NextInt64(10_000_000_000_000, 99_999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A paid ReturnURL result, signed, as a payment-results message.</summary>
    private static string PaidMessage(Deposit deposit, string tradeNo, string? mac = null)
    {
        var fields = TimeoutStack.PaidFields(deposit, tradeNo, simulated: false); // signed
        if (mac is not null) fields[CheckMacValue.FieldName] = mac;
        return JsonSerializer.Serialize(new PaymentResultMessage(PaymentResultSource.ReturnUrl, fields, DateTimeOffset.UtcNow),
            PaymentResultJsonContext.Default.PaymentResultMessage);
    }

    private static SendMessageRequest Message(string queueUrl, string body, string merchantTradeNo) => new()
    {
        QueueUrl = queueUrl,
        MessageBody = body,
        MessageAttributes = new() { [PaymentResultPublisher.MerchantTradeNoAttribute] = new() { DataType = "String", StringValue = merchantTradeNo } },
    };

    [Fact]
    public async Task EveryStateIsExplainedByPaymentShowAndStuckListsOnlyTheProblems()
    {
        // Credited: paid before expiry.
        var creditedTradeNo = TradeNo();
        var credited = await stack.CreateDepositAsync(300, TimeSpan.FromSeconds(60), ecpay: new EcpayTrade.Paid(300, creditedTradeNo));
        await stack.PostPaidAsync(credited, creditedTradeNo);
        // Expired unpaid, through its timeout.
        var expired = await stack.CreateDepositAsync(310, TimeSpan.FromSeconds(1), ecpay: new EcpayTrade.Unpaid(310));
        // Paid after expiry: credited late, flagged.
        var late = await stack.CreateDepositAsync(320, TimeSpan.FromSeconds(1), ecpay: new EcpayTrade.Unpaid(320));
        // A forged result on the queue (a CheckMacValue that does not verify): rejected.
        var forged = await stack.CreateDepositAsync(330, TimeSpan.FromSeconds(60), ecpay: new EcpayTrade.Unpaid(330));
        using var sqs = stack.Sqs.CreateClient();
        await sqs.SendMessageAsync(Message(stack.Sqs.QueueUrl, PaidMessage(forged, TradeNo(), mac: new string('A', 64)), forged.MerchantTradeNo));
        // Simulated from ECPay's back office.
        var simulated = await stack.CreateDepositAsync(340, TimeSpan.FromSeconds(60), ecpay: new EcpayTrade.Unpaid(340));
        await stack.PostPaidAsync(simulated, TradeNo(), simulated: true);
        // ATM number issued, then paid.
        var atmTradeNo = TradeNo();
        var atm = await stack.CreateDepositAsync(350, TimeSpan.FromSeconds(60), method: "ATM", ecpay: new EcpayTrade.Paid(350, atmTradeNo));
        await stack.PostAtmNumberIssuedAsync(atm, atmTradeNo, DateTimeOffset.UtcNow.AddDays(3).AddTicks(-(DateTimeOffset.UtcNow.Ticks % TimeSpan.TicksPerSecond)));
        await WaitForEventsAsync(atm.MerchantTradeNo, 1); // issued, then paid: in that order through the queue
        await stack.PostPaidAsync(atm, atmTradeNo);
        // ECPay has it paid, we never heard: expired here.
        var unheard = await stack.CreateDepositAsync(360, TimeSpan.FromSeconds(1), ecpay: new EcpayTrade.Unpaid(360));

        await stack.WaitForExecutionAsync(expired);
        await stack.WaitForExecutionAsync(late);
        await stack.WaitForExecutionAsync(unheard);
        var lateTradeNo = TradeNo();
        stack.Ecpay.Set(late.MerchantTradeNo, new EcpayTrade.Paid(320, lateTradeNo));
        await stack.PostPaidAsync(late, lateTradeNo);
        stack.Ecpay.Set(unheard.MerchantTradeNo, new EcpayTrade.Paid(360, TradeNo()));
        await stack.WaitForStatusAsync(credited.Id, "completed");
        await stack.WaitForStatusAsync(late.Id, "completed");
        await stack.WaitForStatusAsync(atm.Id, "completed");
        await WaitForEventsAsync(forged.MerchantTradeNo, 1);
        await WaitForEventsAsync(simulated.MerchantTradeNo, 1);

        async Task<(int Exit, string Text)> Show(Deposit d, params string[] more)
        {
            var (exit, stdout, stderr) = await CliAsync(["payment", "show", d.MerchantTradeNo, .. more]);
            Assert.True(stderr.Length == 0, stderr);
            // Kept for the README's operator walk-through: what an operator sees, from the real parts.
            var saved = Path.Combine(RepoPaths.Root, "TestResults", "operator-commands");
            Directory.CreateDirectory(saved);
            await File.WriteAllTextAsync(Path.Combine(saved, $"payment-show-{d.Amount}{string.Concat(more)}.txt"), stdout);
            return (exit, stdout);
        }

        var show = await Show(credited);
        Assert.Equal(0, show.Exit);
        Assert.Contains("verdict: paid and credited 300 TWD at ", show.Text);
        Assert.Contains($"ReturnURL RtnCode 1 (交易成功), 300 TWD, TradeNo {creditedTradeNo} → credited", show.Text);
        Assert.Contains("ledger entry ", show.Text);

        show = await Show(expired);
        Assert.Equal(0, show.Exit);
        Assert.Contains("verdict: expired unpaid", show.Text);
        Assert.Contains("WaitUntilExpiry until ", show.Text);
        Assert.Contains("Reconcile (QueryTradeInfo) answered {\"outcome\":\"expired\"}", show.Text);
        Assert.Contains($"timeout execution {expired.MerchantTradeNo} ended: Expired", show.Text);

        show = await Show(late);
        Assert.Equal(1, show.Exit);
        Assert.Contains("verdict: paid after expiry: credited 320 TWD at ", show.Text);
        Assert.Contains($"db review resolve --transaction {late.Id}", show.Text);

        show = await Show(forged);
        Assert.Contains("→ rejected: ", show.Text);
        Assert.Contains("1 rejected post(s)", show.Text);

        show = await Show(simulated);
        Assert.Contains("SimulatePaid=1 → simulated", show.Text);
        Assert.Contains("verdict: simulated payment", show.Text);

        show = await Show(atm);
        Assert.Equal(0, show.Exit);
        Assert.Contains("PaymentInfoURL RtnCode 2 (Get VirtualAccount Succeeded), 350 TWD", show.Text);
        Assert.Contains("ATM 812-9103522175887271 → number_issued", show.Text);
        Assert.Contains("verdict: paid and credited 350 TWD", show.Text);

        show = await Show(unheard);
        Assert.Contains("verdict: expired unpaid", show.Text);
        Assert.Contains("--ask-ecpay", show.Text);
        show = await Show(unheard, "--ask-ecpay");
        Assert.Equal(1, show.Exit);
        Assert.Contains("verdict: ECPay says paid (360 TWD", show.Text);
        Assert.Contains("ecpay-events reconcile --from ", show.Text);

        var byId = await CliAsync("payment", "show", late.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json");
        var story = JsonNode.Parse(byId.Stdout)!;
        Assert.Equal(late.MerchantTradeNo, (string?)story["merchantTradeNo"]);
        Assert.True((bool)story["problem"]!);
        Assert.NotEmpty(story["timeline"]!.AsArray());

        // payments stuck: the late credit and the rejected post, each with its payment show line; nothing else.
        var (stuckExit, stuck) = await JsonAsync("payments", "stuck");
        Assert.Equal(1, stuckExit);
        var problems = stuck["problems"]!.AsArray().Select(p => ((string)p!["kind"]!, (string)p["merchantTradeNo"]!, (string)p["next"]!)).ToList();
        Assert.Contains(("credited-flagged", late.MerchantTradeNo, $"ecpay-events payment show {late.MerchantTradeNo}"), problems);
        Assert.Contains(("rejected-post", forged.MerchantTradeNo, $"ecpay-events payment show {forged.MerchantTradeNo}"), problems);
        Assert.DoesNotContain(problems, p => p.Item2 == credited.MerchantTradeNo || p.Item2 == expired.MerchantTradeNo || p.Item2 == atm.MerchantTradeNo);
        Assert.True((bool)stuck["executionsChecked"]!);

        // reconcile: finds the payment ECPay has as paid that we have as expired; --apply fixes it through Settlement; a second run changes nothing.
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var (found, report) = await JsonAsync("reconcile", "--from", today, "--to", today, "--interval-ms", "0");
        Assert.Equal(1, found);
        var mismatch = Assert.Single(report["mismatches"]!.AsArray());
        Assert.Equal(unheard.MerchantTradeNo, (string?)mismatch!["merchantTradeNo"]);
        Assert.Equal("expired", (string?)mismatch["ours"]);
        Assert.Equal("expired", (await stack.TransactionAsync(unheard.Id)).Status); // only reported

        var (applied, applyReport) = await JsonAsync("reconcile", "--from", today, "--to", today, "--interval-ms", "0", "--apply");
        Assert.Equal(0, applied);
        Assert.True((bool)Assert.Single(applyReport["mismatches"]!.AsArray())!["enqueued"]!);
        var fixedRow = await stack.WaitForStatusAsync(unheard.Id, "completed");
        Assert.Equal((1L, 360L), (fixedRow.LedgerEntries, fixedRow.Credited));

        var (again, againReport) = await JsonAsync("reconcile", "--from", today, "--to", today, "--interval-ms", "0", "--apply");
        Assert.Equal(0, again);
        Assert.Empty(againReport["mismatches"]!.AsArray());
        await Task.Delay(TimeSpan.FromSeconds(2)); // anything enqueued by mistake would be settled by now
        Assert.Equal((1L, 360L), ((await stack.TransactionAsync(unheard.Id)).LedgerEntries, (await stack.TransactionAsync(unheard.Id)).Credited));
    }

    [Fact]
    public async Task DlqListShowsAMessageAndRedriveSettlesItExactlyOnce()
    {
        var tradeNo = TradeNo();
        var deposit = await stack.CreateDepositAsync(270, TimeSpan.FromSeconds(120), ecpay: new EcpayTrade.Paid(270, tradeNo));
        using var sqs = stack.Sqs.CreateClient();
        // As Settlement leaves it after five failed receives (e.g. while the database was down): in the DLQ.
        var body = PaidMessage(deposit, tradeNo);
        var sent = await sqs.SendMessageAsync(Message(stack.Sqs.DeadLetterQueueUrl, body, deposit.MerchantTradeNo));

        var (listed, list) = await JsonAsync("dlq", "list");
        Assert.Equal(1, listed);
        var letter = Assert.Single(list["messages"]!.AsArray(), m => (string?)m!["messageId"] == sent.MessageId)!;
        Assert.Equal(deposit.MerchantTradeNo, (string?)letter["merchantTradeNo"]);
        Assert.Contains($"transaction {deposit.Id} is pending now", (string?)letter["why"]);
        var text = await CliAsync("dlq", "list");
        Assert.Contains(deposit.MerchantTradeNo, text.Stdout);
        // One payment show tells it too: the result sits in the DLQ, and how to redrive it.
        var shown = await CliAsync("payment", "show", deposit.MerchantTradeNo);
        Assert.Equal(1, shown.ExitCode);
        Assert.Contains($"result in the dead-letter queue, not applied: message {sent.MessageId}", shown.Stdout);
        Assert.Contains($"verdict: 1 result(s) for it in the dead-letter queue, not applied; the transaction is pending", shown.Stdout);
        Assert.Contains($"ecpay-events dlq redrive --id {sent.MessageId}", shown.Stdout);

        var dry = await CliAsync("dlq", "redrive", "--dry-run", "--id", sent.MessageId);
        Assert.Equal(0, dry.ExitCode);
        Assert.Contains($"would move {sent.MessageId}", dry.Stdout);
        Assert.Equal("pending", (await stack.TransactionAsync(deposit.Id)).Status);

        var redriven = await CliAsync("dlq", "redrive", "--id", sent.MessageId);
        Assert.True(redriven.ExitCode == 0, redriven.Stdout + redriven.Stderr);
        Assert.Contains($"moved {sent.MessageId}", redriven.Stdout);
        var row = await stack.WaitForStatusAsync(deposit.Id, "completed");
        Assert.Equal((1L, 270L), (row.LedgerEntries, row.Credited));

        // The same result dead-lettered and redriven again (a redrive whose delete was lost): still credited once.
        await sqs.SendMessageAsync(Message(stack.Sqs.DeadLetterQueueUrl, body, deposit.MerchantTradeNo));
        Assert.Equal(0, (await CliAsync("dlq", "redrive")).ExitCode);
        await WaitUntilDrainedAsync(sqs);
        row = await stack.TransactionAsync(deposit.Id);
        Assert.Equal((1L, 270L, 270L), (row.LedgerEntries, row.Credited, row.Balance));
        Assert.Equal((0, "the dead-letter queue is empty\n"), ((await CliAsync("dlq", "list")).ExitCode, (await CliAsync("dlq", "list")).Stdout));

        var missing = await CliAsync("dlq", "redrive", "--id", "no-such-message");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no message no-such-message", missing.Stderr);
    }

    [Fact]
    public async Task UsageErrorsAreExitCode2AndAnUnknownPaymentIs1()
    {
        Assert.Equal(2, (await CliAsync("payment", "show")).ExitCode);
        Assert.Equal(2, (await CliAsync("payments", "stuck", "--hours", "0")).ExitCode);
        Assert.Equal(2, (await CliAsync("reconcile", "--from", "yesterday", "--to", "2026-01-01")).ExitCode);
        Assert.Equal(2, (await CliAsync("dlq", "redrive", "--frobnicate")).ExitCode);
        var unknown = await CliAsync("payment", "show", "NOSUCHPAYMENT0000001");
        Assert.Equal(1, unknown.ExitCode);
        Assert.StartsWith("ecpay-events payment show: no payment with MerchantTradeNo or transaction id NOSUCHPAYMENT0000001", unknown.Stderr);
    }

    /// <summary>Waits until Settlement has recorded at least <paramref name="count"/> results for the MerchantTradeNo.</summary>
    private async Task WaitForEventsAsync(string merchantTradeNo, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            await using var c = stack.Database.Open();
            await using var cmd = new MySqlConnector.MySqlCommand("SELECT COUNT(*) FROM payment_events WHERE merchant_trade_no = @m", c);
            cmd.Parameters.AddWithValue("@m", merchantTradeNo);
            if (Convert.ToInt64(await cmd.ExecuteScalarAsync()) >= count) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{merchantTradeNo} has fewer than {count} recorded results");
            await Task.Delay(200);
        }
    }

    /// <summary>Waits until payment-results holds nothing, in flight or waiting: Settlement has taken (and deleted) every message.</summary>
    private async Task WaitUntilDrainedAsync(Amazon.SQS.IAmazonSQS sqs)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var a = await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest
            {
                QueueUrl = stack.Sqs.QueueUrl,
                AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            });
            if (a.ApproximateNumberOfMessages == 0 && a.ApproximateNumberOfMessagesNotVisible == 0) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("payment-results was not drained");
            await Task.Delay(200);
        }
    }
}
