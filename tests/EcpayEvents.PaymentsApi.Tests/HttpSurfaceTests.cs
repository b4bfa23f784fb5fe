using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EcpayEvents.Ecpay;
using EcpayEvents.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace EcpayEvents.PaymentsApi.Tests;

/// <summary>Security headers, CORS, rate limits and the OpenAPI document, over HTTP against the real app.</summary>
public sealed partial class HttpSurfaceTests
{
    private static async Task<string> PostOrderResultAsync(PaymentsApiHost api, string tradeNo, long amount)
    {
        var fields = SignedEcpayPost.ReturnUrl(tradeNo, amount, tradeNo: "2601011200001234", paymentDate: "2026/01/01 12:00:05", tradeDate: "2026/01/01 12:00:00", paymentTypeChargeFee: "7");
        using var response = await api.Client.PostAsync("/ecpay/order-result", new StringContent(EcpayForm.ToFormBody(fields), Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertHtmlHeaders(response, await response.Content.ReadAsStringAsync(), api.Cognito.Settings.Endpoint);
        return await response.Content.ReadAsStringAsync();
    }

    private static Dictionary<string, string[]> Directives(string policy) =>
        policy.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => d.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToDictionary(d => d[0], d => d[1..]);

    // As a browser hashes an inline block: its text after HTML parsing (CR LF and CR become LF).
    private static string Hash(string block) =>
        $"'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(block.Replace("\r\n", "\n").Replace('\r', '\n'))))}'";

    /// <summary>Every inline script and style of the page is allowed by hash; nothing else may run, frame or post elsewhere.</summary>
    private static void AssertHtmlHeaders(HttpResponseMessage response, string html, Uri cognitoEndpoint)
    {
        var csp = Directives(Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal(["'none'"], csp["default-src"]);
        Assert.Equal(["'none'"], csp["frame-ancestors"]);
        Assert.Equal(["'none'"], csp["base-uri"]);
        Assert.Equal(["'self'", "http://127.0.0.1:5999"], csp["form-action"]); // ECPay (the test's sandbox origin)
        Assert.Equal(["'self'", cognitoEndpoint.GetLeftPart(UriPartial.Authority)], csp["connect-src"]); // the page signs in through the user pool's API
        // Inline scripts by hash; 'self' for the one script file, /session.js (every other answer is JSON or text, and nosniff).
        Assert.DoesNotContain(csp["script-src"], s => s is "'unsafe-inline'" or "'unsafe-eval'" or "*");
        Assert.Equal(["'self'"], csp["script-src"].Where(s => !s.StartsWith("'sha256-", StringComparison.Ordinal)));
        var scripts = InlineBlock().Matches(html).Where(m => m.Groups["tag"].Value == "script").ToList();
        var files = html.Split("<script src=\"/session.js\"></script>").Length - 1;
        Assert.Equal(html.Split("<script").Length - 1, scripts.Count + files); // no other script with attributes (src, nonce) slipped through
        Assert.All(scripts, m => Assert.Contains(Hash(m.Groups["body"].Value), csp["script-src"]));
        Assert.All(InlineBlock().Matches(html).Where(m => m.Groups["tag"].Value == "style"), m => Assert.Contains(Hash(m.Groups["body"].Value), csp["style-src"]));
        Assert.DoesNotContain(" style=\"", html);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
    }

    [GeneratedRegex("<(?<tag>script|style)>(?<body>.*?)</(script|style)>", RegexOptions.Singleline)]
    private static partial Regex InlineBlock();

    [Fact]
    public async Task EveryHtmlPageRunsExactlyItsOwnScriptsAndCannotBeFramed()
    {
        await using var api = await PaymentsApiHost.StartAsync("headers");
        using var page = new HttpRequestMessage(HttpMethod.Get, "/");
        page.Headers.Accept.ParseAdd("text/html");
        using var index = await api.Client.SendAsync(page);
        var indexHtml = await index.Content.ReadAsStringAsync();
        Assert.Contains("<script>", indexHtml);
        AssertHtmlHeaders(index, indexHtml, api.Cognito.Settings.Endpoint);

        // The checkout form (posts itself to ECPay), the return page, an error page.
        var user = await api.CreateUserAsync();
        var deposit = await (await api.Client.PostAsJsonAsync($"/users/{user}/deposits", new { amount = 300, paymentMethod = "Credit" })).Content.ReadFromJsonAsync<JsonElement>();
        using var checkoutRequest = new HttpRequestMessage(HttpMethod.Get, api.CheckoutPath(deposit.GetProperty("transactionId").GetInt64()));
        checkoutRequest.Headers.Accept.ParseAdd("text/html");
        using var checkout = await api.Client.SendAsync(checkoutRequest);
        var checkoutHtml = await checkout.Content.ReadAsStringAsync();
        Assert.Contains("submit()", checkoutHtml);
        AssertHtmlHeaders(checkout, checkoutHtml, api.Cognito.Settings.Endpoint);

        var orderResult = await PostOrderResultAsync(api, deposit.GetProperty("merchantTradeNo").GetString()!, 300);
        Assert.Contains("<script>", orderResult);

        using var errorRequest = new HttpRequestMessage(HttpMethod.Get, api.CheckoutPath(999999)); // a valid link to nothing: the HTML 404 page
        errorRequest.Headers.Accept.ParseAdd("text/html");
        using var error = await api.Client.SendAsync(errorRequest);
        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
        AssertHtmlHeaders(error, await error.Content.ReadAsStringAsync(), api.Cognito.Settings.Endpoint);
    }

    [Fact]
    public async Task JsonAnswersRunNothingAndAreNotSniffed()
    {
        await using var api = await PaymentsApiHost.StartAsync("headersjson");
        using var response = await api.Client.GetAsync("/users/424242");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("default-src 'none'; frame-ancestors 'none'", Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task TheCspAllowsConfiguredConnectSourcesSuchAsTheSignInEndpoint()
    {
        await using var api = await PaymentsApiHost.StartAsync("headersconnect", null, "--PaymentsApi:Http:ConnectSources:0=https://cognito-idp.ap-northeast-1.amazonaws.com");
        using var index = await api.Client.GetAsync("/");
        var csp = Directives(Assert.Single(index.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal(["'self'", "https://cognito-idp.ap-northeast-1.amazonaws.com", api.Cognito.Settings.Endpoint.GetLeftPart(UriPartial.Authority)], csp["connect-src"]);
    }

    // ---------------------------------------------------------------- CORS

    private static async Task<HttpResponseMessage> PreflightAsync(PaymentsApiHost api, string origin)
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/users/1/deposits");
        preflight.Headers.Add("Origin", origin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type,idempotency-key");
        return await api.Client.SendAsync(preflight);
    }

    [Fact]
    public async Task WithoutConfiguredOriginsNoCrossOriginCallIsAllowed()
    {
        await using var api = await PaymentsApiHost.StartAsync("corsnone");
        using var preflight = await PreflightAsync(api, "https://shop.example");
        Assert.False(preflight.Headers.Contains("Access-Control-Allow-Origin"));
        using var get = new HttpRequestMessage(HttpMethod.Get, "/users/1");
        get.Headers.Add("Origin", "https://shop.example");
        using var answer = await api.Client.SendAsync(get);
        Assert.False(answer.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task OnlyConfiguredOriginsMayCallTheApiFromTheBrowser()
    {
        await using var api = await PaymentsApiHost.StartAsync("corssome", null, "--PaymentsApi:Http:CorsOrigins:0=https://shop.example");
        using var allowed = await PreflightAsync(api, "https://shop.example");
        Assert.Equal("https://shop.example", Assert.Single(allowed.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Contains("idempotency-key", allowed.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.OrdinalIgnoreCase);

        using var other = await PreflightAsync(api, "https://evil.example");
        Assert.False(other.Headers.Contains("Access-Control-Allow-Origin"));

        // A real answer exposes what a polling frontend reads.
        var user = await api.CreateUserAsync();
        var deposit = await (await api.Client.PostAsJsonAsync($"/users/{user}/deposits", new { amount = 300, paymentMethod = "Credit" })).Content.ReadFromJsonAsync<JsonElement>();
        using var get = new HttpRequestMessage(HttpMethod.Get, $"/transactions/{deposit.GetProperty("transactionId").GetInt64()}");
        get.Headers.Add("Origin", "https://shop.example");
        using var answer = await api.Client.SendAsync(get);
        Assert.Equal("https://shop.example", Assert.Single(answer.Headers.GetValues("Access-Control-Allow-Origin")));
        var exposed = answer.Headers.GetValues("Access-Control-Expose-Headers").Single();
        Assert.Contains("ETag", exposed);
        Assert.Contains("Poll-After", exposed);
    }

    [Theory]
    [InlineData("--PaymentsApi:Http:CorsOrigins:0=https://shop.example/app")]
    [InlineData("--PaymentsApi:Http:CorsOrigins:0=*")]
    [InlineData("--PaymentsApi:Http:ConnectSources:0=ftp://x.example")]
    [InlineData("--PaymentsApi:Http:MoneyRequestsPerMinute=0")]
    public async Task ASurfaceSettingThatMakesNoSenseStopsTheStart(string setting)
    {
        await using var app = PaymentsApiApp.Build(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=None", "--Database:ConnectionString=Server=x",
            "--Ecpay:MerchantId=3002607", "--Ecpay:HashKey=k", "--Ecpay:HashIv=v",
            "--Ecpay:ReturnUrl=http://127.0.0.1:5081/ecpay/return", "--PaymentsApi:PublicBaseUrl=http://127.0.0.1:5080", "--StepFunctions:Disabled=true",
            "--PaymentsApi:Cognito:Issuer=http://127.0.0.1:5095/local_pool", "--PaymentsApi:Cognito:ClientId=web", $"--PaymentsApi:LinkSigningKey={PaymentsApiHost.LinkSigningKey}", setting]);
        var e = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => app.StartAsync());
        Assert.StartsWith("PaymentsApi:Http", e.Message);
    }

    // ---------------------------------------------------------------- rate limits

    [Fact]
    public async Task StartingDepositsAndWithdrawalsIsLimitedPerClientThen429WithRetryAfter()
    {
        await using var api = await PaymentsApiHost.StartAsync("ratemoney", null, "--PaymentsApi:Http:MoneyRequestsPerMinute=3");
        var user = await api.CreateUserAsync();
        async Task<HttpResponseMessage> Deposit(string client, long? by = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/users/{by ?? user}/deposits") { Content = JsonContent.Create(new { amount = 100, paymentMethod = "Credit" }) };
            request.Headers.Add("X-Forwarded-For", client);
            return await api.Client.SendAsync(request);
        }
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.Created, (await Deposit("203.0.113.7")).StatusCode);

        using var limited = await Deposit("203.0.113.7");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType!.MediaType);
        var problem = await limited.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.InRange(limited.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);
        // Withdrawals count against the same limit; reads are not limited; the same person from another address
        // is still limited (the partition is the token's sub), another person is not.
        using var withdraw = new HttpRequestMessage(HttpMethod.Post, $"/users/{user}/withdrawals") { Content = JsonContent.Create(new { amount = 1 }) };
        withdraw.Headers.Add("X-Forwarded-For", "203.0.113.7");
        Assert.Equal(HttpStatusCode.TooManyRequests, (await api.Client.SendAsync(withdraw)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.Client.GetAsync($"/users/{user}")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await Deposit("198.51.100.9")).StatusCode);
        var other = await api.CreateUserAsync("bob", "bob@example.com");
        Assert.Equal(HttpStatusCode.Created, (await Deposit("203.0.113.7", other)).StatusCode);
        Assert.Equal(4, await api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM transactions"));
    }

    [Fact]
    public async Task OpenRoutesAreLimitedPerClientAddress()
    {
        await using var api = await PaymentsApiHost.StartAsync("rateopen", null, "--PaymentsApi:Http:OpenRequestsPerMinute=2");
        Assert.Equal(HttpStatusCode.OK, (await api.Client.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.Client.GetAsync("/")).StatusCode);
        using var limited = await api.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.NotNull(limited.Headers.RetryAfter);
        // Health checks (the Lambda adapter's readiness probe) are never limited.
        for (var i = 0; i < 5; i++) Assert.Equal(HttpStatusCode.OK, (await api.Client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task AnAuthenticatedCallerIsLimitedByTheTokensSubjectNotByAddress()
    {
        await using var api = await PaymentsApiHost.StartAsync("ratepartition");
        var endpoint = api.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Single(e => e.RoutePattern.RawText == "/users/{id}/deposits");
        HttpContext Request(string? sub, string address)
        {
            var context = new DefaultHttpContext();
            context.Request.Method = "POST";
            context.Connection.RemoteIpAddress = IPAddress.Parse(address);
            context.SetEndpoint(endpoint);
            if (sub is not null) context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", sub)], "Bearer"));
            return context;
        }
        Assert.Equal((ApiRateLimits.LimitKind.Money, "money-user:alice"), ApiRateLimits.Partition(Request("alice", "192.0.2.1")));
        Assert.Equal((ApiRateLimits.LimitKind.Money, "money-user:alice"), ApiRateLimits.Partition(Request("alice", "192.0.2.2")));
        Assert.Equal((ApiRateLimits.LimitKind.Money, "money-user:bob"), ApiRateLimits.Partition(Request("bob", "192.0.2.1")));
        Assert.Equal((ApiRateLimits.LimitKind.Money, "money-ip:192.0.2.1"), ApiRateLimits.Partition(Request(null, "192.0.2.1")));
    }

    // ---------------------------------------------------------------- OpenAPI

    [Fact]
    public async Task TheOpenApiDocumentDescribesEveryRoute()
    {
        await using var api = await PaymentsApiHost.StartAsync("openapi");
        using var response = await api.Client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = await response.Content.ReadFromJsonAsync<JsonElement>();
        var paths = document.GetProperty("paths");

        // Every route the app answers (the document itself aside), whoever mapped it.
        var routes = api.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText != "/openapi/{documentName}.json")
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Path: "/" + e.RoutePattern.RawText!.TrimStart('/'), Method: m.ToLowerInvariant())))
            .ToList();
        Assert.Contains(routes, r => r.Path == "/users/{id}/deposits");
        var missing = routes.Where(r => !paths.TryGetProperty(r.Path, out var item) || !item.TryGetProperty(r.Method, out _)).ToList();
        Assert.True(missing.Count == 0, "missing from /openapi/v1.json: " + string.Join(", ", missing));

        // Security: a bearer scheme, required on user routes, not on the open ones.
        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer");
        Assert.Equal(("http", "bearer"), (scheme.GetProperty("type").GetString(), scheme.GetProperty("scheme").GetString()));
        var deposit = paths.GetProperty("/users/{id}/deposits").GetProperty("post");
        Assert.Equal("bearer", deposit.GetProperty("security")[0].EnumerateObject().Single().Name);
        Assert.Equal(0, paths.GetProperty("/ecpay/order-result").GetProperty("post").GetProperty("security").GetArrayLength());

        // Shapes and problems.
        var requestSchema = deposit.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema");
        Assert.True(Resolve(document, requestSchema).GetProperty("properties").TryGetProperty("amount", out _));
        var responses = deposit.GetProperty("responses");
        foreach (var status in new[] { "201", "200", "400", "4XX", "429" })
            Assert.True(responses.TryGetProperty(status, out _), $"POST deposits lacks a {status} response");
        Assert.True(responses.GetProperty("4XX").GetProperty("content").TryGetProperty("application/problem+json", out _));
        Assert.Contains(deposit.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "Idempotency-Key");
        var poll = paths.GetProperty("/transactions/{id}").GetProperty("get").GetProperty("responses");
        Assert.True(poll.GetProperty("200").GetProperty("headers").TryGetProperty("Poll-After", out _));
        Assert.True(poll.TryGetProperty("304", out _));
    }

    private static JsonElement Resolve(JsonElement document, JsonElement schema)
    {
        if (!schema.TryGetProperty("$ref", out var reference)) return schema;
        var name = reference.GetString()!.Split('/')[^1];
        return document.GetProperty("components").GetProperty("schemas").GetProperty(name);
    }
}
