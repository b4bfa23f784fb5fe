using System.Net;
using System.Net.Sockets;
using System.Text;
using EcpayEvents.Testing;

namespace EcpayEvents.StepFunctions.Tests;

/// <summary>
/// Towards AWS (not a loopback endpoint) the client takes its credentials and region from the AWS SDK's
/// standard chain — here the environment, as in a Lambda function. The CLI runs as its own process (the
/// chain reads the process's environment) behind a loopback HTTP proxy, which sees what would go to AWS:
/// the plain-HTTP request to a non-loopback endpoint with its signature, and the CONNECT to the regional
/// endpoint when no endpoint is given.
/// </summary>
public sealed class StandardChainTests
{
    private const string AccessKey = "AKIDCHAINEXAMPLE";
    private const string SecretKey = "chainSecretKeyEXAMPLE/K7MDENG+bPxRfiCY";
    private const string SessionToken = "chain-session-token";

    [Fact]
    public async Task CredentialsAndRegionComeFromTheEnvironmentAndTheRequestIsSignedWithThem()
    {
        using var proxy = new TcpListener(IPAddress.Loopback, 0);
        proxy.Start();
        var port = ((IPEndPoint)proxy.LocalEndpoint).Port;
        var captured = AnswerOnceAsync(proxy,
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {0}\r\nConnection: close\r\n\r\n{1}",
            """{"__type":"com.amazonaws.swf.service.v2.model#ExecutionDoesNotExist","message":"Execution Does Not Exist"}""");

        var run = await CliAsync(new() { ["HTTP_PROXY"] = $"http://127.0.0.1:{port}" },
            "executions", "describe", "EC0CHAIN", "--endpoint", "http://states.example.test:4584/",
            "--state-machine-arn", "arn:aws:states:ap-northeast-1:123456789012:stateMachine:payment-timeout");
        var request = await captured.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(run.ExitCode == 1, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.Contains("ExecutionDoesNotExist", run.Stderr);
        Assert.Equal("POST http://states.example.test:4584/ HTTP/1.1", request.RequestLine);
        Assert.Equal("""{"executionArn":"arn:aws:states:ap-northeast-1:123456789012:execution:payment-timeout:EC0CHAIN"}""", request.Body);
        Assert.Equal(SessionToken, request.Headers["X-Amz-Security-Token"]);
        var amzDate = request.Headers["X-Amz-Date"];
        var at = DateTimeOffset.ParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);
        var expected = ReferenceSigV4.Sign("POST", new Uri("http://states.example.test:4584/"),
            [
                new("content-type", request.Headers["Content-Type"]),
                new("x-amz-target", request.Headers["X-Amz-Target"]),
                new("x-amz-content-sha256", request.Headers["X-Amz-Content-SHA256"]),
            ],
            Encoding.UTF8.GetBytes(request.Body),
            new SigV4Credentials(AccessKey, SecretKey, SessionToken), "ap-northeast-1", "states", at);
        Assert.Equal(expected.Authorization, request.Headers["Authorization"]);
        Assert.StartsWith($"AWS4-HMAC-SHA256 Credential={AccessKey}/{amzDate[..8]}/ap-northeast-1/states/aws4_request,", request.Headers["Authorization"]);
        Assert.DoesNotContain(SecretKey, run.Stdout + run.Stderr);
    }

    [Fact]
    public async Task WithoutAnEndpointItGoesToTheRegionalEndpointOfTheEnvironmentsRegion()
    {
        using var proxy = new TcpListener(IPAddress.Loopback, 0);
        proxy.Start();
        var port = ((IPEndPoint)proxy.LocalEndpoint).Port;
        var captured = AnswerOnceAsync(proxy, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: {0}\r\nConnection: close\r\n\r\n{1}", "");

        var run = await CliAsync(new() { ["HTTPS_PROXY"] = $"http://127.0.0.1:{port}" },
            "executions", "describe", "EC0CHAIN", "--state-machine-arn", "arn:aws:states:ap-northeast-1:123456789012:stateMachine:payment-timeout");
        var request = await captured.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal("CONNECT states.ap-northeast-1.amazonaws.com:443 HTTP/1.1", request.RequestLine);
        // Could not find out (exit 3), not "found a problem" (1) nor bad usage (2).
        Assert.True(run.ExitCode == 3, $"exit {run.ExitCode}: {run.Stderr}");
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("ecpay-events executions describe: cannot reach Step Functions at https://states.ap-northeast-1.amazonaws.com", line);
    }

    private sealed record Captured(string RequestLine, Dictionary<string, string> Headers, string Body);

    /// <summary>Accepts one connection, reads one HTTP request (headers and Content-Length body), answers it.</summary>
    private static async Task<Captured> AnswerOnceAsync(TcpListener listener, string answerFormat, string answerBody)
    {
        using var client = await listener.AcceptTcpClientAsync();
        var stream = client.GetStream();
        var buffer = new List<byte>();
        var chunk = new byte[4096];
        int end;
        while ((end = IndexOfHeaderEnd(buffer)) < 0)
        {
            var n = await stream.ReadAsync(chunk);
            if (n == 0) throw new IOException("the connection closed before the request's headers ended");
            buffer.AddRange(chunk.AsSpan(0, n));
        }
        var head = Encoding.ASCII.GetString(buffer.GetRange(0, end).ToArray()).Split("\r\n");
        var headers = head.Skip(1).Select(h => h.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var length = headers.TryGetValue("Content-Length", out var l) ? int.Parse(l) : 0;
        var body = buffer.Skip(end + 4).ToList();
        while (body.Count < length)
        {
            var n = await stream.ReadAsync(chunk);
            if (n == 0) break;
            body.AddRange(chunk.AsSpan(0, n));
        }
        var answer = string.Format(System.Globalization.CultureInfo.InvariantCulture, answerFormat, Encoding.UTF8.GetByteCount(answerBody), answerBody);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(answer));
        return new Captured(head[0], headers, Encoding.UTF8.GetString(body.ToArray()));
    }

    private static int IndexOfHeaderEnd(List<byte> b)
    {
        for (var i = 0; i + 3 < b.Count; i++)
            if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') return i;
        return -1;
    }

    private static Task<CliProcess.Result> CliAsync(Dictionary<string, string> env, params string[] args)
    {
        // Only the environment speaks for the chain: no profile, no instance metadata, no other endpoint or proxy.
        var environment = new Dictionary<string, string?>
        {
            ["AWS_ACCESS_KEY_ID"] = AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = SecretKey,
            ["AWS_SESSION_TOKEN"] = SessionToken,
            ["AWS_REGION"] = "ap-northeast-1",
            ["AWS_EC2_METADATA_DISABLED"] = "true",
            ["AWS_CONFIG_FILE"] = "/nonexistent/aws-config",
            ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/aws-credentials",
        };
        foreach (var name in new[] { "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_DEFAULT_REGION", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                     "AWS_WEB_IDENTITY_TOKEN_FILE", "STEPFUNCTIONS_ENDPOINT", "STATE_MACHINE_ARN", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
                     "http_proxy", "https_proxy", "all_proxy", "no_proxy" })
            environment[name] = null;
        foreach (var (k, v) in env) environment[k] = v;
        return CliProcess.RunAsync(environment, args);
    }
}
