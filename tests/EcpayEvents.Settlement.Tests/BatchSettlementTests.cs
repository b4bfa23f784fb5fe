using System.Net.Http.Json;
using System.Text.Json;
using EcpayEvents.Messaging;
using EcpayEvents.Payments.Settlement;
using EcpayEvents.Testing;

namespace EcpayEvents.Settlement.Tests;

/// <summary>
/// The batch path: one transaction per SQS batch, a savepoint per message. A message that fails is rolled back
/// alone and reported; batches for the same user settling at once neither deadlock nor credit twice.
/// </summary>
public sealed class BatchSettlementTests
{
    [Fact]
    public async Task APoisonMessageAndAFailingMessageInTheMiddleOfABatchFailAloneAndTheRestCommit()
    {
        await using var s = await SettlementStack.StartAsync("batchpoison", startRunner: false);
        var before = await s.SeedDepositAsync(100);
        var failing = await s.SeedDepositAsync(200);
        var after = await s.SeedDepositAsync(300);
        // Crediting this user overflows BIGINT (error 1690) after its event is written: the message's writes fail half-way.
        await s.Db.ScalarAsync<long>("UPDATE users SET balance = 9223372036854775800 WHERE id = @id; SELECT 0;", ("@id", failing.UserId));

        var batch = new SqsEvent([
            Message("m1", PaymentResultSource.ReturnUrl, SignedEcpayPost.ReturnUrl(before.MerchantTradeNo, 100)),
            new SqsMessage("poison", "r", "{not json", null, null, null, "aws:sqs", null, "us-east-1"),
            Message("m3", PaymentResultSource.ReturnUrl, SignedEcpayPost.ReturnUrl(failing.MerchantTradeNo, 200)),
            Message("m4", PaymentResultSource.ReturnUrl, SignedEcpayPost.ReturnUrl(after.MerchantTradeNo, 300)),
        ]);
        var failures = await PostAsync(s, batch);

        Assert.Equal(["m3", "poison"], failures.Order());
        Assert.Equal(100, await s.BalanceAsync(before.UserId));
        Assert.Equal(300, await s.BalanceAsync(after.UserId));
        // Nothing of the failing message stayed: no event, no status change, no ledger entry.
        Assert.Equal(0, await s.EventsAsync(failing.MerchantTradeNo));
        Assert.Equal("pending", await s.StatusAsync(failing.Id));
        Assert.Equal(0, await s.LedgerEntriesAsync(failing.Id));
        Assert.Equal(1, await s.EventsAsync(before.MerchantTradeNo, "credited"));
        Assert.Equal(1, await s.EventsAsync(after.MerchantTradeNo, "credited"));

        // Once the cause is gone, the redelivered message settles once.
        await s.Db.ScalarAsync<long>("UPDATE users SET balance = 0 WHERE id = @id; SELECT 0;", ("@id", failing.UserId));
        Assert.Empty(await PostAsync(s, new SqsEvent([batch.Records![2]])));
        Assert.Equal(200, await s.BalanceAsync(failing.UserId));
        Assert.Equal(1, await s.LedgerEntriesAsync(failing.Id));
        await s.Db.AssertLedgerInvariantAsync();
    }

    [Fact]
    public async Task TwoBatchesForTheSameUserAtOnceCreditEveryPaymentOnceWithoutFailures()
    {
        await using var s = await SettlementStack.StartAsync("batchsameuser", startRunner: false);
        var userId = await s.SeedUserAsync();
        var other = await s.SeedUserAsync();
        var deposits = new List<Deposit>();
        for (var i = 0; i < 18; i++) deposits.Add(await s.SeedDepositAsync(10 + i, userId: i % 3 == 0 ? other : userId));
        var messages = deposits.Select((d, i) => Message("m" + i, PaymentResultSource.ReturnUrl, SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, d.Amount))).ToList();

        for (var round = 0; round < 5; round++)
        {
            // The same payments in opposite orders, each batch also re-sending the other's first message (ECPay re-sends):
            // locks taken in a fixed order, so neither waits for the other in a cycle.
            var a = new SqsEvent([.. messages.Take(9), messages[^1]]);
            var b = new SqsEvent([.. messages.Skip(9).Reverse(), messages[0]]);
            var answers = await Task.WhenAll(PostAsync(s, a), PostAsync(s, b));
            Assert.All(answers, Assert.Empty);
        }

        Assert.Equal(deposits.Where(d => d.UserId == userId).Sum(d => d.Amount), await s.BalanceAsync(userId));
        Assert.Equal(deposits.Where(d => d.UserId == other).Sum(d => d.Amount), await s.BalanceAsync(other));
        foreach (var d in deposits)
        {
            Assert.Equal(1, await s.LedgerEntriesAsync(d.Id));
            Assert.Equal(1, await s.EventsAsync(d.MerchantTradeNo));
        }
        Assert.Empty(s.Logs.WithEventId(5102)); // no message failed, not even once (no deadlock, no lock wait timeout)
        await s.Db.AssertLedgerInvariantAsync();
    }

    [Fact]
    public async Task MessagesAboutTheSamePaymentInOneBatchAreAppliedInOrder()
    {
        await using var s = await SettlementStack.StartAsync("batchorder", startRunner: false);
        var d = await s.SeedDepositAsync(500);
        var paid = SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500);
        var failedAfter = SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500, rtnCode: "10100058", rtnMsg: "failed", tradeNo: "2611250000000002");
        var failures = await PostAsync(s, new SqsEvent([
            Message("paid", PaymentResultSource.ReturnUrl, paid),
            Message("again", PaymentResultSource.ReturnUrl, paid),
            Message("failure", PaymentResultSource.ReturnUrl, failedAfter),
        ]));

        Assert.Empty(failures);
        Assert.Equal("completed", await s.StatusAsync(d.Id)); // the later failure saw the credit: never downgraded
        Assert.Equal(500, await s.BalanceAsync(d.UserId));
        Assert.Equal(1, await s.LedgerEntriesAsync(d.Id));
        Assert.Equal(2, await s.EventsAsync(d.MerchantTradeNo)); // the re-send is a duplicate: not recorded again
        await s.Db.AssertLedgerInvariantAsync();
    }

    private static SqsMessage Message(string id, string source, Dictionary<string, string> fields) => new(id, "r-" + id,
        JsonSerializer.Serialize(new PaymentResultMessage(source, fields, DateTimeOffset.UtcNow), PaymentResultJsonContext.Default.PaymentResultMessage),
        new Dictionary<string, string> { ["ApproximateReceiveCount"] = "1" }, null, null, "aws:sqs", null, "us-east-1");

    private static async Task<IReadOnlyList<string>> PostAsync(SettlementStack s, SqsEvent batch)
    {
        using var response = await s.Http.PostAsJsonAsync(s.SettlementEventsUrl, batch, SqsEventJsonContext.Default.SqsEvent);
        response.EnsureSuccessStatusCode();
        var answer = await response.Content.ReadFromJsonAsync(SqsEventJsonContext.Default.SqsBatchResponse);
        return [.. answer!.BatchItemFailures.Select(f => f.ItemIdentifier)];
    }
}
