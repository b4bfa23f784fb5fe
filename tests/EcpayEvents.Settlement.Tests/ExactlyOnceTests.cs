using EcpayEvents.Testing;
using EcpayEvents.Ecpay;

namespace EcpayEvents.Settlement.Tests;

/// <summary>However often a result arrives, and however many arrive at once, each payment is credited exactly once.</summary>
public sealed class ExactlyOnceTests(StackFixture fixture) : IClassFixture<StackFixture>, IAsyncLifetime
{
    private SettlementStack S => fixture.Stack;

    private long deadLettered;

    // The class shares one stack: each test checks only what it added to the dead-letter queue.
    public async ValueTask InitializeAsync() => deadLettered = await S.DeadLetteredAsync();

    public async ValueTask DisposeAsync()
    {
        await S.Db.AssertLedgerInvariantAsync();
        Assert.Equal(deadLettered, await S.DeadLetteredAsync()); // every message acknowledged, none given up on
    }

    [Fact]
    public async Task TheSameNotificationTwentyTimesInARowCreditsOnce()
    {
        var d = await S.SeedDepositAsync(500);
        var body = EcpayForm.ToFormBody(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500));
        for (var i = 0; i < 20; i++)
        {
            var (status, answer, contentType) = await S.PostAsync("/ecpay/return", body);
            Assert.Equal(System.Net.HttpStatusCode.OK, status);
            Assert.Equal("1|OK", answer);
            Assert.Equal("text/plain", contentType);
        }
        await S.WaitForQueueDrainedAsync();

        Assert.Equal(500, await S.BalanceAsync(d.UserId));
        Assert.Equal(1, await S.LedgerEntriesAsync(d.Id));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo));
    }

    [Fact]
    public async Task TheSameNotificationTwentyTimesConcurrentlyCreditsOnce()
    {
        var d = await S.SeedDepositAsync(500);
        // Half of them are ECPay's re-sends, whose RtnMsg (and so CheckMacValue) differs.
        var first = EcpayForm.ToFormBody(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500, rtnMsg: "交易成功"));
        var resend = EcpayForm.ToFormBody(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500, rtnMsg: "paid"));
        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => S.PostAsync("/ecpay/return", i % 2 == 0 ? first : resend)));
        Assert.All(answers, a => Assert.Equal("1|OK", a.Body));
        await S.WaitForQueueDrainedAsync();

        Assert.Equal(500, await S.BalanceAsync(d.UserId));
        Assert.Equal(1, await S.LedgerEntriesAsync(d.Id));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo));
    }

    [Fact]
    public async Task ManyUsersAndPaymentsSettlingConcurrentlyLeaveEveryBalanceRight()
    {
        var users = new List<long>();
        for (var u = 0; u < 8; u++) users.Add(await S.SeedUserAsync());
        var deposits = new List<Deposit>();
        for (var i = 0; i < 40; i++)
            deposits.Add(await S.SeedDepositAsync(100 + i, userId: users[i % users.Count]));

        // Every payment paid, each posted three times, all at once and shuffled.
        var posts = deposits.SelectMany(d => Enumerable.Repeat(EcpayForm.ToFormBody(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, d.Amount)), 3))
            .OrderBy(_ => Random.Shared.Next()).ToList();
        var answers = await Task.WhenAll(posts.Select(b => S.PostAsync("/ecpay/return", b)));
        Assert.All(answers, a => Assert.Equal("1|OK", a.Body));
        await S.WaitForQueueDrainedAsync(60);

        foreach (var user in users)
            Assert.Equal(deposits.Where(d => d.UserId == user).Sum(d => d.Amount), await S.BalanceAsync(user));
        foreach (var d in deposits)
            Assert.Equal(1, await S.LedgerEntriesAsync(d.Id));
    }
}
