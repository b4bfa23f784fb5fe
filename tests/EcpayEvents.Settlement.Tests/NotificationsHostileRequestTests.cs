using System.Net;
using Amazon.SQS.Model;
using EcpayEvents.Hosting;
using EcpayEvents.Notifications;
using EcpayEvents.Testing;
using Microsoft.AspNetCore.Builder;

namespace EcpayEvents.Settlement.Tests;

/// <summary>Requests that break HTTP rather than ECPay's rules: a 4xx, nothing enqueued, never a 500 or a stack trace.</summary>
public sealed class NotificationsHostileRequestTests : IAsyncLifetime
{
    private LocalSqsServer sqs = null!;
    private WebApplication app = null!;

    public async ValueTask InitializeAsync()
    {
        sqs = await LocalSqsServer.StartAsync();
        // As ./run.sh ran it: Development, where an unhandled exception became a page with its stack trace.
        app = NotificationsApp.Build([
            "--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", "--environment=Development",
            "--Ecpay:MerchantId=3002607", "--Ecpay:HashKey=pwFHCqoQZGmho4w6", "--Ecpay:HashIv=EkRm7iFT261dpevs",
            $"--Sqs:QueueUrl={sqs.QueueUrl}", $"--Sqs:ServiceUrl={sqs.Endpoint}"]);
        await app.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        using var client = sqs.CreateClient();
        var left = await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = sqs.QueueUrl, WaitTimeSeconds = 0, MaxNumberOfMessages = 10 });
        Assert.Empty(left.Messages ?? []);
        await app.DisposeAsync();
        await sqs.DisposeAsync();
    }

    [Theory]
    [InlineData("/ecpay/return")]
    [InlineData("/ecpay/payment-info")]
    public async Task AMalformedChunkedBodyIs400AndTheServiceStaysUp(string path)
    {
        var server = app.BoundAddress();
        var answer = await RawHttp.SendAsync(server, RawHttp.MalformedChunkedPost(server, path));
        Assert.True(answer.Status == 400, $"{answer.Head}\n{answer.Body}");
        Assert.DoesNotContain("   at ", answer.Body);
        Assert.DoesNotContain("Exception", answer.Body);
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(server, "/healthz"))).StatusCode);
    }

    [Theory]
    [InlineData("GET", "/ecpay/return")]
    [InlineData("GET", "/nothing-here")]
    [InlineData("PUT", "/ecpay/payment-info")]
    public async Task AnotherMethodOrPathAskedForAsHtmlIsA4xx(string method, string path)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(app.BoundAddress(), path));
        request.Headers.TryAddWithoutValidation("Accept", "text/html");
        using var response = await http.SendAsync(request);
        Assert.InRange((int)response.StatusCode, 400, 499);
    }
}
