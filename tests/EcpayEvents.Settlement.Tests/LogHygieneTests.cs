using EcpayEvents.Messaging;
using EcpayEvents.Testing;
using EcpayEvents.Testing.BadInput;
using EcpayEvents.Payments.Settlement;

namespace EcpayEvents.Settlement.Tests;

/// <summary>
/// No HashKey, HashIV, database password, token or full card number in any log line. Every
/// SettlementStack (and PaymentsApiHost) scans what its services logged when it is disposed; this runs the
/// paths that log the most at the most verbose level, and checks that the scan does find each kind.
/// </summary>
public sealed class LogHygieneTests
{
    [Fact]
    public async Task PaymentsRejectionsAndBadInputLogNoSecretsEvenAtDebugLevel()
    {
        var s = await SettlementStack.StartAsync("loghygiene", logLevel: "Debug");
        await using (s)
        {
            var paid = await s.SeedDepositAsync(amount: 500);
            await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(paid.MerchantTradeNo, 500));
            var wrongAmount = await s.SeedDepositAsync(amount: 500);
            await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(wrongAmount.MerchantTradeNo, 400));
            // A forged post (bad MAC, a card number and the database password in its fields) and one enqueued
            // directly (Settlement logs what it rejects).
            var forged = SignedEcpayPost.ReturnUrl(paid.MerchantTradeNo, 500);
            forged["CustomField1"] = "4111 1111 1111 1111";
            forged["CustomField2"] = "Password=local-dev-only";
            var (status, _, _) = await s.PostAsync("/ecpay/return", Ecpay.EcpayForm.ToFormBody(forged));
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, status);
            await s.EnqueueAsync(PaymentResultSource.ReturnUrl, forged);
            await BadInputSuite.RunAsync(s.NotificationsUrl, new EndpointSpec("POST /ecpay/return", "POST", "/ecpay/return", BodyKind.EcpayForm,
                FormFields: SignedEcpayPost.ReturnUrl(paid.MerchantTradeNo, 500)), 200, seed: 7, ct: TestContext.Current.CancellationToken);
            await s.WaitForQueueDrainedAsync();
            Assert.Equal(500, await s.BalanceAsync(paid.UserId));
            Assert.Contains(s.Logs.Entries, e => e.Level <= Microsoft.Extensions.Logging.LogLevel.Information);
        } // DisposeAsync scans every entry and the runner's log
    }

    [Theory]
    [InlineData("HashKey=pwFHCqoQZGmho4w6", "HashKey")]
    [InlineData("iv EkRm7iFT261dpevs", "HashIV")]
    [InlineData("Server=db;Password=hunter2;", "a password")]
    [InlineData("Authorization: Bearer abcdefgh12345678", "a bearer token")]
    [InlineData("token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", "a JWT")]
    [InlineData("card 4111 1111 1111 1111 ok", "a card number")]
    [InlineData("card=5555555555554444", "a card number")]
    [InlineData("amex 378282246310005", "a card number")]
    [InlineData(@"{""SpanId"":""0123456789abcdef"",""Message"":""paid with 4111111111111111""}", "a card number")]
    public void TheScanFindsEachKindOfSecret(string line, string kind) =>
        Assert.Contains(SecretScan.Find(line), f => f.StartsWith(kind, StringComparison.Ordinal));

    [Theory]
    [InlineData("TradeNo=2611250000000001 MerchantTradeNo=EE0MWVO2NL1CBSNIOD5Z amount 4111")]
    [InlineData("card6no=411111 card4no=1111")]
    [InlineData("4111111111111112")] // fails the Luhn check
    // Random hex trace ids that happen to be all digits, a card prefix and Luhn-valid (it happened in CI).
    [InlineData(@"{""TraceId"":""00000000000000004111111111111111"",""SpanId"":""4111111111111111"",""ParentId"":""5555555555554444""}")]
    [InlineData("traceparent 00-00000000000000004111111111111111-4111111111111111-01")]
    public void OrdinaryPaymentValuesAreNotSecrets(string line) => Assert.Empty(SecretScan.Find(line));
}
