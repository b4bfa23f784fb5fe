using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Ecpay.Tests;

public sealed class QueryTradeInfoClientTests : IAsyncLifetime
{
    private static readonly EcpayCredentials Stage = EcpayCredentials.Stage;
    private static readonly DateTimeOffset Now = new(2025, 1, 1, 4, 0, 0, TimeSpan.Zero);

    private readonly ConcurrentQueue<Func<HttpContext, Task>> _answers = new();
    private readonly ConcurrentQueue<IFormCollection> _requests = new();
    private WebApplication? _app;
    private string _baseUrl = "";

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapPost("/Cashier/QueryTradeInfo/V5", async context =>
        {
            _requests.Enqueue(await context.Request.ReadFormAsync(context.RequestAborted));
            var answer = _answers.TryDequeue(out var next) ? next : ctx => Results.StatusCode(599).ExecuteAsync(ctx);
            await answer(context);
        });
        await _app.StartAsync();
        _baseUrl = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private readonly FakeClock _clock = new(Now);

    private QueryTradeInfoClient Client(string? baseUrl = null, TimeSpan? attemptTimeout = null, int maxRetries = 2, TimeSpan? totalTimeout = null)
        => Services(baseUrl, attemptTimeout, maxRetries: maxRetries, totalTimeout: totalTimeout).GetRequiredService<QueryTradeInfoClient>();

    private ServiceProvider Services(string? baseUrl = null, TimeSpan? attemptTimeout = null, TimeSpan? coolDown = null, int maxRetries = 2, TimeSpan? totalTimeout = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddEcpayQueryTradeInfoClient(o =>
        {
            o.Endpoints = EcpayUrls.FromBaseUrl(baseUrl ?? _baseUrl);
            o.Credentials = Stage;
            o.AttemptTimeout = attemptTimeout ?? TimeSpan.FromSeconds(2);
            o.TotalTimeout = totalTimeout ?? TimeSpan.FromSeconds(3);
            o.MaxRetries = maxRetries;
            o.RetryDelay = TimeSpan.FromMilliseconds(20);
            if (coolDown is { } c)
            {
                o.ThrottleCoolDown = c;
            }
        });
        return services.BuildServiceProvider();
    }

    private static string Signed(params (string Key, string Value)[] fields)
    {
        var list = fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)).ToList();
        list.Add(new("CheckMacValue", CheckMacValue.Compute(list, Stage.HashKey, Stage.HashIv)));
        return EcpayForm.ToFormBody(list);
    }

    private static (string, string)[] Answer(string tradeStatus, string tradeNo = "Dep1") =>
    [
        ("MerchantID", "3002607"), ("MerchantTradeNo", tradeNo), ("StoreID", ""), ("TradeNo", "2501011200001234"),
        ("TradeAmt", "500"), ("PaymentDate", tradeStatus == "1" ? "2025/01/01 12:05:09" : ""), ("PaymentType", "Credit_CreditCard"),
        ("HandlingCharge", "10"), ("PaymentTypeChargeFee", "10"), ("TradeDate", "2025/01/01 12:00:00"), ("TradeStatus", tradeStatus),
        ("ItemName", "儲值 500"), ("CustomField1", "u42"), ("CustomField2", ""), ("CustomField3", ""), ("CustomField4", ""),
        ("gwsr", "12345"), ("process_date", "2025/01/01 12:05:09"),
    ];

    private void Reply(string body, int status = 200) => _answers.Enqueue(async ctx =>
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "text/html";
        await ctx.Response.WriteAsync(body, ctx.RequestAborted);
    });

    private static QueryTradeInfoResult.Answered AssertAnswered(QueryTradeInfoResult result)
        => Assert.IsType<QueryTradeInfoResult.Answered>(result);

    [Fact]
    public async Task APaidAnswerMapsToPaidWithTypedFieldsAndTheRawFieldsKept()
    {
        Reply(Signed(Answer("1")));
        var trade = AssertAnswered(await Client().QueryAsync("Dep1", TestContext.Current.CancellationToken)).Trade;
        Assert.Equal(TradeStatus.Paid, trade.Status);
        Assert.Equal(500, trade.TradeAmt);
        Assert.Equal("2501011200001234", trade.TradeNo);
        Assert.Equal("Credit_CreditCard", trade.PaymentType);
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 12, 5, 9, TimeSpan.FromHours(8)), trade.PaymentDate);
        Assert.Equal("儲值 500", trade.ItemName);
        Assert.Equal("12345", trade.Fields["gwsr"]);
        Assert.True(CheckMacValue.Verify(trade.Fields, Stage.HashKey, Stage.HashIv));
    }

    [Fact]
    public async Task SendsASignedRequestWithTheTimeStampFromTheTimeProvider()
    {
        Reply(Signed(Answer("0")));
        await Client().QueryAsync("Dep1", TestContext.Current.CancellationToken);
        Assert.True(_requests.TryDequeue(out var request));
        Assert.Equal(Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), request["TimeStamp"]);
        Assert.Equal("Dep1", request["MerchantTradeNo"]);
        Assert.Equal("3002607", request["MerchantID"]);
        var fields = request.Select(f => new KeyValuePair<string, string>(f.Key, f.Value.ToString())).ToList();
        Assert.True(CheckMacValue.Verify(fields, Stage.HashKey, Stage.HashIv));
    }

    [Theory]
    [InlineData("0", TradeStatus.Unpaid)]
    [InlineData("10200095", TradeStatus.NeverChosePaymentMethod)]
    [InlineData("10200047", TradeStatus.NotFound)]
    [InlineData("2", TradeStatus.Unknown)]
    [InlineData("10200163", TradeStatus.Unknown)]
    public async Task SignedAnswersMapTradeStatusAndUnknownCodesAreNeverPaid(string code, TradeStatus expected)
    {
        Reply(Signed(Answer(code)));
        var trade = AssertAnswered(await Client().QueryAsync("Dep1", TestContext.Current.CancellationToken)).Trade;
        Assert.Equal(expected, trade.Status);
        Assert.Equal(code, trade.Code);
    }

    [Fact]
    public async Task AnAnswerWithoutCheckMacValueIsAnEcpayError()
    {
        Reply("RtnCode=0&RtnMsg=CheckMacValue+Error");
        var error = Assert.IsType<QueryTradeInfoResult.EcpayError>(await Client().QueryAsync("Dep1", TestContext.Current.CancellationToken));
        Assert.Equal("CheckMacValue Error", error.Message);
    }

    [Fact]
    public async Task APlainTextErrorIsAnEcpayError()
    {
        Reply("Parameter Error. TimeStamp Error");
        var error = Assert.IsType<QueryTradeInfoResult.EcpayError>(await Client().QueryAsync("Dep1", TestContext.Current.CancellationToken));
        Assert.Contains("TimeStamp", error.Message);
    }

    [Fact]
    public async Task ATamperedAnswerIsAMacMismatchAndNeverPaid()
    {
        Reply(Signed(Answer("0")).Replace("TradeStatus=0", "TradeStatus=1", StringComparison.Ordinal));
        var mismatch = Assert.IsType<QueryTradeInfoResult.MacMismatch>(await Client().QueryAsync("Dep1", TestContext.Current.CancellationToken));
        Assert.NotEqual(mismatch.Expected, mismatch.Received);
    }

    [Fact]
    public async Task AnAnswerSignedWithOtherKeysIsAMacMismatch()
    {
        var fields = Answer("1").Select(f => new KeyValuePair<string, string>(f.Item1, f.Item2)).ToList();
        fields.Add(new("CheckMacValue", CheckMacValue.Compute(fields, "ejCk326UnaZWKisg", "q9jcZX8Ib9LM8wYk")));
        Reply(EcpayForm.ToFormBody(fields));
        Assert.IsType<QueryTradeInfoResult.MacMismatch>(await Client().QueryAsync("Dep1", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ASignedAnswerAboutAnotherOrderIsMalformed()
    {
        Reply(Signed(Answer("1", tradeNo: "Other1")));
        Assert.IsType<QueryTradeInfoResult.Malformed>(await Client().QueryAsync("Dep1", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task AnAnswerSignedOverItsStillEncodedValuesVerifiesAndItsTypedViewIsDecoded()
    {
        // ECPay signing the values as they appear in the body: "2025%2F01%2F01+12%3A05%3A09". Decoded, they
        // do not verify; only the undecoded split does — and the typed view must still read real values.
        var encoded = Answer("1").Select(f => new KeyValuePair<string, string>(f.Item1, System.Net.WebUtility.UrlEncode(f.Item2))).ToList();
        Assert.Contains(encoded, f => f.Value.Contains("%2F") && f.Value.Contains('+'));
        encoded.Add(new("CheckMacValue", CheckMacValue.Compute(encoded, Stage.HashKey, Stage.HashIv)));
        Assert.False(CheckMacValue.Verify(EcpayForm.Parse(string.Join('&', encoded.Select(f => f.Key + "=" + f.Value))), Stage.HashKey, Stage.HashIv));
        Reply(string.Join('&', encoded.Select(f => f.Key + "=" + f.Value)));

        var trade = AssertAnswered(await Client().QueryAsync("Dep1", TestContext.Current.CancellationToken)).Trade;
        Assert.Equal(TradeStatus.Paid, trade.Status);
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 12, 5, 9, TimeSpan.FromHours(8)), trade.PaymentDate);
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 12, 0, 0, TimeSpan.FromHours(8)), trade.TradeDate);
        Assert.Equal("儲值 500", trade.ItemName);
        // The forwarded fields are the ones that verify.
        Assert.Equal("2025%2F01%2F01+12%3A05%3A09", trade.Fields["PaymentDate"]);
        Assert.True(CheckMacValue.Verify(trade.Fields, Stage.HashKey, Stage.HashIv));
    }

    [Fact]
    public async Task AnAnswerWithALiteralPlusSignedUnencodedVerifiesThroughTheRawFallback()
    {
        var fields = Answer("1").Select(f => new KeyValuePair<string, string>(f.Item1, f.Item2 == "u42" ? "a+b%2Fc" : f.Item2)).ToList();
        fields.Add(new("CheckMacValue", CheckMacValue.Compute(fields, Stage.HashKey, Stage.HashIv)));
        Reply(string.Join('&', fields.Select(f => f.Key + "=" + f.Value)));
        var trade = AssertAnswered(await Client().QueryAsync("Dep1", TestContext.Current.CancellationToken)).Trade;
        Assert.Equal(TradeStatus.Paid, trade.Status);
        Assert.Equal("a+b%2Fc", trade.Fields["CustomField1"]);
        Assert.True(CheckMacValue.Verify(trade.Fields, Stage.HashKey, Stage.HashIv));
    }

    [Fact]
    public async Task TheTimeStampIsComputedPerCall()
    {
        var client = Client();
        Reply(Signed(Answer("0")));
        Reply(Signed(Answer("0")));
        await client.QueryAsync("Dep1", TestContext.Current.CancellationToken);
        _clock.Advance(TimeSpan.FromSeconds(200));
        await client.QueryAsync("Dep1", TestContext.Current.CancellationToken);
        var stamps = _requests.Select(r => r["TimeStamp"].ToString()).ToList();
        Assert.Equal([Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), (Now.ToUnixTimeSeconds() + 200).ToString(System.Globalization.CultureInfo.InvariantCulture)], stamps);
    }

    [Fact]
    public async Task AfterA403NoRequestIsMadeUntilTheCoolDownEnds()
    {
        using var services = Services();
        Reply("Forbidden", 403);
        var first = Assert.IsType<QueryTradeInfoResult.Throttled>(await services.GetRequiredService<QueryTradeInfoClient>().QueryAsync("Dep1", TestContext.Current.CancellationToken));
        Assert.False(first.WithoutRequest);
        Assert.Equal(Now + TimeSpan.FromMinutes(30), first.CoolDownUntil);

        // Another client instance of the same service (typed clients are transient): the block is shared.
        _clock.Advance(TimeSpan.FromMinutes(29));
        var second = Assert.IsType<QueryTradeInfoResult.Throttled>(await services.GetRequiredService<QueryTradeInfoClient>().QueryAsync("Dep2", TestContext.Current.CancellationToken));
        Assert.True(second.WithoutRequest);
        Assert.Equal("Forbidden", second.Body);
        Assert.Equal(Now + TimeSpan.FromMinutes(30), second.CoolDownUntil);
        Assert.Single(_requests);
        Assert.Equal(Now + TimeSpan.FromMinutes(30), services.GetRequiredService<QueryTradeInfoThrottle>().CoolDownUntil(_clock.GetUtcNow()));

        _clock.Advance(TimeSpan.FromMinutes(1));
        Reply(Signed(Answer("1")));
        Assert.Equal(TradeStatus.Paid, AssertAnswered(await services.GetRequiredService<QueryTradeInfoClient>().QueryAsync("Dep1", TestContext.Current.CancellationToken)).Trade.Status);
        Assert.Equal(2, _requests.Count);
    }

    [Fact]
    public async Task TheCoolDownIsConfigurableAndZeroTurnsItOff()
    {
        using (var services = Services(coolDown: TimeSpan.FromMinutes(5)))
        {
            Reply("Forbidden", 403);
            var client = services.GetRequiredService<QueryTradeInfoClient>();
            Assert.Equal(Now + TimeSpan.FromMinutes(5), Assert.IsType<QueryTradeInfoResult.Throttled>(await client.QueryAsync("Dep1", TestContext.Current.CancellationToken)).CoolDownUntil);
            _clock.Advance(TimeSpan.FromMinutes(5));
            Reply(Signed(Answer("0")));
            AssertAnswered(await client.QueryAsync("Dep1", TestContext.Current.CancellationToken));
        }
        using (var services = Services(coolDown: TimeSpan.Zero))
        {
            Reply("Forbidden", 403);
            Reply("Forbidden", 403);
            var client = services.GetRequiredService<QueryTradeInfoClient>();
            Assert.Null(Assert.IsType<QueryTradeInfoResult.Throttled>(await client.QueryAsync("Dep1", TestContext.Current.CancellationToken)).CoolDownUntil);
            Assert.False(Assert.IsType<QueryTradeInfoResult.Throttled>(await client.QueryAsync("Dep1", TestContext.Current.CancellationToken)).WithoutRequest);
        }
        Assert.Equal(4, _requests.Count);
    }

    [Fact]
    public async Task AnErrorAnswerCarriesEcpaysCode()
    {
        Reply("RtnCode=10200047&RtnMsg=Cant+find+the+trade+data");
        Reply("TradeStatus=10200073&Message=CheckMacValue+Error");
        Reply("Parameter Error. TimeStamp Error");
        var client = Client();
        Assert.Equal("10200047", Assert.IsType<QueryTradeInfoResult.EcpayError>(await client.QueryAsync("Dep1", TestContext.Current.CancellationToken)).Code);
        var second = Assert.IsType<QueryTradeInfoResult.EcpayError>(await client.QueryAsync("Dep1", TestContext.Current.CancellationToken));
        Assert.Equal("10200073", second.Code);
        Assert.Equal("CheckMacValue Error", second.Message);
        Assert.Null(Assert.IsType<QueryTradeInfoResult.EcpayError>(await client.QueryAsync("Dep1", TestContext.Current.CancellationToken)).Code);
    }

    [Fact]
    public async Task AResponseWhoseBodyCannotBeReadIsDisposedAndATransportFailure()
    {
        var content = new FailingContent();
        var handler = new OneResponseHandler(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = content });
        using var http = new HttpClient(handler);
        var client = new QueryTradeInfoClient(http, new QueryTradeInfoOptions { Credentials = Stage, Endpoints = EcpayUrls.Stage }, _clock);
        Assert.IsType<QueryTradeInfoResult.TransportFailed>(await client.QueryAsync("Dep1", TestContext.Current.CancellationToken));
        Assert.True(content.Disposed);
    }

    private sealed class FailingContent : HttpContent
    {
        public bool Disposed { get; private set; }

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
            => throw new HttpRequestException("connection reset while reading the body");

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }
    }

    private sealed class OneResponseHandler(HttpResponseMessage response) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => Task.FromResult(response);
    }

    [Fact]
    public async Task A403IsThrottledAndNotRetried()
    {
        Reply("Forbidden", 403);
        Reply(Signed(Answer("1")));
        Assert.IsType<QueryTradeInfoResult.Throttled>(await Client().QueryAsync("Dep1", TestContext.Current.CancellationToken));
        Assert.Single(_requests);
    }

    [Fact]
    public async Task A500IsRetriedAndTheNextAnswerCounts()
    {
        Reply("oops", 500);
        Reply(Signed(Answer("1")));
        Assert.Equal(TradeStatus.Paid, AssertAnswered(await Client().QueryAsync("Dep1", TestContext.Current.CancellationToken)).Trade.Status);
        Assert.Equal(2, _requests.Count);
    }

    [Fact]
    public async Task MaxRetriesZeroMeansOneAttempt()
    {
        // Polly's retry strategy needs at least one retry; 0 must still mean none, not a start-up failure.
        Reply("oops", 500);
        Reply(Signed(Answer("1")));
        Assert.Equal(500, Assert.IsType<QueryTradeInfoResult.HttpFailed>(await Client(maxRetries: 0).QueryAsync("Dep1", TestContext.Current.CancellationToken)).StatusCode);
        Assert.Single(_requests);
    }

    [Fact]
    public async Task PersistentServerErrorsEndAsAnHttpFailureAfterTheRetries()
    {
        for (var i = 0; i < 3; i++)
        {
            Reply("down", 503);
        }
        var failure = Assert.IsType<QueryTradeInfoResult.HttpFailed>(await Client().QueryAsync("Dep1", TestContext.Current.CancellationToken));
        Assert.Equal(503, failure.StatusCode);
        Assert.Equal(3, _requests.Count);
    }

    [Fact]
    public async Task A404IsAnHttpFailureWithoutRetry()
    {
        Reply("no", 404);
        Assert.Equal(404, Assert.IsType<QueryTradeInfoResult.HttpFailed>(await Client().QueryAsync("Dep1", TestContext.Current.CancellationToken)).StatusCode);
        Assert.Single(_requests);
    }

    [Fact]
    public async Task AServerThatNeverAnswersIsATimeout()
    {
        for (var i = 0; i < 3; i++)
        {
            _answers.Enqueue(ctx => Task.Delay(Timeout.InfiniteTimeSpan, ctx.RequestAborted));
        }
        // The whole call may take a minute (a busy machine is slow, not wrong): three requests within it prove that
        // each attempt was cut at its 200 ms, since an uncut first attempt would hold the call until the total timeout.
        var result = await Client(attemptTimeout: TimeSpan.FromMilliseconds(200), totalTimeout: TimeSpan.FromSeconds(60)).QueryAsync("Dep1", TestContext.Current.CancellationToken);
        Assert.IsType<QueryTradeInfoResult.TimedOut>(result);
        Assert.Equal(3, _requests.Count);
    }

    [Fact]
    public async Task AClosedPortIsATransportFailure()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        Assert.IsType<QueryTradeInfoResult.TransportFailed>(await Client($"http://127.0.0.1:{port}").QueryAsync("Dep1", TestContext.Current.CancellationToken));
    }

    private sealed class FakeClock(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset _now = now;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
