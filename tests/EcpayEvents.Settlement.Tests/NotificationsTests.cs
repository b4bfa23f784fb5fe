using System.Net;
using System.Text;
using System.Text.Json;
using Amazon.SQS.Model;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Messaging;
using EcpayEvents.Notifications;
using EcpayEvents.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using EcpayEvents.Payments.Settlement;

namespace EcpayEvents.Settlement.Tests;

/// <summary>The Notifications service on its own: what it answers ECPay and what it puts on the queue.</summary>
public sealed class NotificationsTests : IAsyncLifetime
{
    private LocalSqsServer sqs = null!;
    private WebApplication app = null!;
    private readonly HttpClient http = new();
    private readonly LogCapture logs = new();

    public async ValueTask InitializeAsync()
    {
        sqs = await LocalSqsServer.StartAsync();
        app = await StartAsync(sqs.Endpoint, sqs.QueueUrl, logs);
    }

    private static async Task<WebApplication> StartAsync(string serviceUrl, string queueUrl, LogCapture? logs = null, params string[] more)
    {
        var a = NotificationsApp.Build([
            "--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning",
            "--Ecpay:MerchantId=3002607", "--Ecpay:HashKey=pwFHCqoQZGmho4w6", "--Ecpay:HashIv=EkRm7iFT261dpevs",
            $"--Sqs:QueueUrl={queueUrl}", $"--Sqs:ServiceUrl={serviceUrl}", .. more], logs is null ? null : logs.AddTo);
        await a.StartAsync();
        return a;
    }

    public async ValueTask DisposeAsync()
    {
        await app.DisposeAsync();
        await sqs.DisposeAsync();
        http.Dispose();
    }

    private async Task<(HttpStatusCode Status, string Body)> PostAsync(WebApplication a, string path, string body, string? forwardedFor = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(a.BoundAddress(), path))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        if (forwardedFor is not null) request.Headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ABadMacIsASecurityLogLineWithReasonMerchantTradeNoAndTheClientIpApiGatewaySaw()
    {
        var fields = SignedEcpayPost.ReturnUrl("TFORGED1", 500);
        fields["TradeAmt"] = "5000"; // tampered after signing
        // API Gateway appends the address that connected to it; the first entry is the client's own claim.
        var (status, _) = await PostAsync(app, "/ecpay/return", EcpayForm.ToFormBody(fields), forwardedFor: "10.0.0.1, 203.0.113.9");
        Assert.Equal(HttpStatusCode.BadRequest, status);

        var line = Assert.Single(logs.WithEventId(NotificationsEndpoints.SecurityRejectedEventId), l => l["MerchantTradeNo"] == "TFORGED1");
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Equal(4001, line.EventId);
        Assert.Equal("CheckMacValue does not verify", line["Reason"]);
        Assert.Equal(PaymentResultSource.ReturnUrl, line["Source"]);
        Assert.Equal("203.0.113.9", line["ClientIp"]);
        Assert.Equal("127.0.0.1", line["RemoteIp"]);
        Assert.StartsWith("Security: rejected ECPay ReturnURL post", line.Message);
    }

    [Theory]
    [InlineData(null, "192.0.2.1")]
    [InlineData("203.0.113.9", "203.0.113.9")]
    [InlineData("10.0.0.1, 203.0.113.9", "203.0.113.9")]
    [InlineData(" 198.51.100.1 ,  203.0.113.9 ", "203.0.113.9")]
    [InlineData("2001:db8::1", "2001:db8::1")]
    public void TheClientIpIsTheLastXForwardedForHop(string? header, string expected)
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse("192.0.2.1");
        if (header is not null) context.Request.Headers["X-Forwarded-For"] = header;
        Assert.Equal(expected, NotificationsEndpoints.ClientIp(context.Request));
    }

    [Fact]
    public async Task AnotherMerchantIsASecurityLogLineAndWithoutXForwardedForTheClientIpIsTheRemoteAddress()
    {
        var fields = SignedEcpayPost.AtmIssued("TOTHER01", 500);
        fields["MerchantID"] = "2000132";
        var (status, _) = await PostAsync(app, "/ecpay/payment-info", EcpayForm.ToFormBody(SignedEcpayPost.Sign(fields)));
        Assert.Equal(HttpStatusCode.BadRequest, status);

        var line = Assert.Single(logs.WithEventId(NotificationsEndpoints.SecurityRejectedEventId), l => l["MerchantTradeNo"] == "TOTHER01");
        Assert.Equal("MerchantID is not ours", line["Reason"]);
        Assert.Equal(PaymentResultSource.PaymentInfoUrl, line["Source"]);
        Assert.Equal("127.0.0.1", line["ClientIp"]);
        Assert.Equal("127.0.0.1", line["RemoteIp"]);
    }

    public static TheoryData<string, string, string, string> PostsEcpayDoesNotSend() => new()
    {
        // path, field, value (null: removed), what the log says
        { "/ecpay/return", "PlatformID", "1234567", "unexpected field 'PlatformID'" },
        { "/ecpay/return", "card4no", "1234", "unexpected field 'card4no'" }, // NeedExtraPaidInfo=Y, which our checkout never asks for
        { "/ecpay/return", "ItemName", "points", "unexpected field 'ItemName'" }, // a checkout field
        { "/ecpay/return", "merchantid", "3002607", "unexpected field 'merchantid'" }, // names are exact
        { "/ecpay/return", "BankCode", "812", "unexpected field 'BankCode'" }, // a PaymentInfoURL field
        { "/ecpay/return", "RtnMsg", "a&RtnCode=1", "RtnMsg contains '&'" },
        { "/ecpay/return", "CustomField1", "x=y", "CustomField1 contains '='" },
        { "/ecpay/return", "RtnMsg", "ok\n", "RtnMsg contains a control character" },
        { "/ecpay/return", "TradeNo", "12345678901234567890A", "TradeNo is not up to 20 digits" },
        { "/ecpay/return", "TradeAmt", "500.00", "TradeAmt is not a whole number of TWD" },
        { "/ecpay/return", "RtnCode", "one", "RtnCode is not an integer" },
        { "/ecpay/return", "SimulatePaid", "", "SimulatePaid is not 0 or 1" },
        { "/ecpay/return", "PaymentDate", "25.11.2026 noon", "PaymentDate is not empty or a date" },
        { "/ecpay/return", "PaymentTypeChargeFee", "N/A", "PaymentTypeChargeFee is not empty or a non-negative number" },
        { "/ecpay/return", "PaymentType", "Credit CreditCard", "PaymentType is not empty or a payment type" },
        { "/ecpay/return", "MerchantTradeNo", "T123-4", "MerchantTradeNo is not 1–20 ASCII letters or digits" },
        { "/ecpay/payment-info", "PaymentDate", "2026/11/25 12:00:00", "unexpected field 'PaymentDate'" }, // a ReturnURL field
        { "/ecpay/payment-info", "PaymentNo", "LLL22251222", "unexpected field 'PaymentNo'" }, // a CVS field on an ATM post
        { "/ecpay/payment-info", "PaymentType", "Credit_CreditCard", "is not an ATM, CVS or BARCODE payment type" },
        { "/ecpay/payment-info", "ExpireDate", "soon", "ExpireDate is not empty or a date" },
    };

    [Theory]
    [MemberData(nameof(PostsEcpayDoesNotSend))]
    public async Task ASignedPostWithAFieldEcpayDoesNotSendIsRefusedAndLoggedAsASecurityEvent(string path, string field, string value, string reason)
    {
        var merchantTradeNo = "TFIELD" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var fields = path.EndsWith("return", StringComparison.Ordinal) ? SignedEcpayPost.ReturnUrl(merchantTradeNo, 500) : SignedEcpayPost.AtmIssued(merchantTradeNo, 500);
        fields[field] = value;
        var (status, body) = await PostAsync(app, path, EcpayForm.ToFormBody(SignedEcpayPost.Sign(fields))); // a valid MAC

        Assert.Equal((HttpStatusCode.BadRequest, "0|unexpected fields"), (status, body));
        Assert.Empty(await DrainAsync());
        var line = Assert.Single(logs.WithEventId(NotificationsEndpoints.SecurityRejectedEventId), l => l["Reason"]!.Contains(reason, StringComparison.Ordinal));
        Assert.Contains("as ECPay sends it", line["Reason"]);
    }

    [Fact]
    public async Task ALowerCaseMacIsRefused()
    {
        var fields = SignedEcpayPost.ReturnUrl("TLOWER01", 500);
        fields[CheckMacValue.FieldName] = fields[CheckMacValue.FieldName].ToLowerInvariant(); // ECPay sends upper-case hex
        Assert.Equal((HttpStatusCode.BadRequest, "0|unexpected fields"), await PostAsync(app, "/ecpay/return", EcpayForm.ToFormBody(fields)));
        Assert.Empty(await DrainAsync());
    }

    private async Task<List<Message>> DrainAsync()
    {
        using var client = sqs.CreateClient();
        var got = await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = sqs.QueueUrl, WaitTimeSeconds = 1, MaxNumberOfMessages = 10, MessageAttributeNames = ["All"] });
        return got.Messages ?? [];
    }

    [Theory]
    [InlineData("/ecpay/return", PaymentResultSource.ReturnUrl)]
    [InlineData("/ecpay/payment-info", PaymentResultSource.PaymentInfoUrl)]
    public async Task AVerifiedPostIsAnsweredOkAndEnqueuedOnceWithItsRawFields(string path, string source)
    {
        var fields = path.EndsWith("return") ? SignedEcpayPost.ReturnUrl("T123", 500) : SignedEcpayPost.AtmIssued("T123", 500);
        var before = DateTimeOffset.UtcNow;
        var (status, body) = await PostAsync(app, path, EcpayForm.ToFormBody(fields));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("1|OK", body);

        var m = Assert.Single(await DrainAsync());
        var message = JsonSerializer.Deserialize(m.Body, PaymentResultJsonContext.Default.PaymentResultMessage)!;
        Assert.Equal(source, message.Source);
        Assert.Equal(fields, message.Fields);
        Assert.InRange(message.ReceivedAt, before.AddSeconds(-1), DateTimeOffset.UtcNow);
        Assert.Equal("T123", m.MessageAttributes["merchantTradeNo"].StringValue);
        Assert.Equal(source, m.MessageAttributes["source"].StringValue);
    }

    [Fact]
    public async Task AForgedMacIsRefusedAndNothingIsQueued()
    {
        var fields = SignedEcpayPost.ReturnUrl("T123", 500);
        fields["TradeAmt"] = "5000"; // tampered after signing
        var (status, body) = await PostAsync(app, "/ecpay/return", EcpayForm.ToFormBody(fields));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("0|", body);
        Assert.Empty(await DrainAsync());
    }

    [Fact]
    public async Task AnotherMerchantIsRefused()
    {
        var fields = SignedEcpayPost.ReturnUrl("T123", 500, merchantId: "2000132");
        var (status, body) = await PostAsync(app, "/ecpay/return", EcpayForm.ToFormBody(fields));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("0|", body);
        Assert.Empty(await DrainAsync());
    }

    [Theory]
    [InlineData("not a form")]
    [InlineData("MerchantID=3002607&MerchantID=3002607")]
    [InlineData("MerchantID=3002607&MerchantTradeNo=%ZZ")]
    [InlineData("")]
    public async Task AMalformedBodyIsRefused(string body)
    {
        var (status, answer) = await PostAsync(app, "/ecpay/return", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("0|", answer);
        Assert.Empty(await DrainAsync());
    }

    [Fact]
    public async Task AnOversizedBodyIsRefused()
    {
        var fields = SignedEcpayPost.ReturnUrl("T123", 500);
        fields["CustomField1"] = new string('x', NotificationsEndpoints.MaxBodyBytes);
        var (status, answer) = await PostAsync(app, "/ecpay/return", EcpayForm.ToFormBody(SignedEcpayPost.Sign(fields)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.StartsWith("0|", answer);
    }

    [Fact]
    public async Task WhenTheQueueIsUnreachableItAnswers503SoEcpayReSends()
    {
        var closedPort = FreePort.Next();
        await using var broken = await StartAsync($"http://127.0.0.1:{closedPort}", $"http://127.0.0.1:{closedPort}/000000000000/payment-results");
        var (status, body) = await PostAsync(broken, "/ecpay/return", EcpayForm.ToFormBody(SignedEcpayPost.ReturnUrl("T123", 500)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.NotEqual("1|OK", body);
    }

    /// <summary>
    /// A queue server that accepts connections but answers nothing: the 503 comes within the enqueue budget
    /// (4 s, retries included), well before ECPay (about 10 s) stops waiting — not after every SDK attempt's timeout.
    /// </summary>
    [Fact]
    public async Task WhenTheQueueServerHangsItAnswers503WithinTheEnqueueBudget()
    {
        var fields = SignedEcpayPost.ReturnUrl("T123", 500);
        Assert.Equal((HttpStatusCode.OK, "1|OK"), await PostAsync(app, "/ecpay/return", EcpayForm.ToFormBody(fields))); // connections open
        sqs.Pause();
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var (status, body) = await PostAsync(app, "/ecpay/return", EcpayForm.ToFormBody(fields));
            clock.Stop();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.NotEqual("1|OK", body);
            Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(3.5), TimeSpan.FromSeconds(5.5));
            Assert.Contains(logs.Entries, e => e.EventId == 5001 && e.Message.Contains("TimeoutException", StringComparison.Ordinal));
        }
        finally
        {
            sqs.Resume();
        }
    }

    [Fact]
    public async Task AMissingSettingFailsAtStartWithItsName()
    {
        var a = NotificationsApp.Build(["--urls=http://127.0.0.1:0", "--Ecpay:MerchantId=3002607", "--Sqs:QueueUrl=x"]);
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => a.StartAsync());
        Assert.Contains("HashKey", e.Message);
        await a.DisposeAsync();
    }
}
