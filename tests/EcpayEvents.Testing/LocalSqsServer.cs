using System.Diagnostics;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.SQS;

namespace EcpayEvents.Testing;

/// <summary>
/// A real fauxqs SQS server (infrastructure/local/sqs-server.mjs on Node 22) on a free loopback
/// port, with the payment-results queue and its DLQ. Killed on dispose.
/// </summary>
public sealed class LocalSqsServer : IAsyncDisposable
{
    private readonly Process process;

    public string Endpoint { get; }
    public string QueueUrl { get; }
    public string DeadLetterQueueUrl { get; }
    public int Port { get; }

    private LocalSqsServer(Process process, int port, string endpoint, string queueUrl, string dlqUrl)
    {
        this.process = process;
        Port = port;
        Endpoint = endpoint;
        QueueUrl = queueUrl;
        DeadLetterQueueUrl = dlqUrl;
    }

    /// <param name="dataDir">fauxqs' SQLite persistence folder (sqs-server.mjs --data-dir): a server started again on it has what the last one held.</param>
    public static async Task<LocalSqsServer> StartAsync(int maxReceiveCount = 3, int visibilityTimeoutSeconds = 2, int? port = null, string? dataDir = null)
    {
        RepoPaths.EnsureNpmPackages();
        var chosen = port ?? FreePort.Next();
        var psi = new ProcessStartInfo(RepoPaths.Node)
        {
            WorkingDirectory = RepoPaths.LocalStack,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // the server exits when this pipe closes (the test process died)
        };
        foreach (var a in new[] { "--no-warnings", "sqs-server.mjs", "--port", chosen.ToString(), "--max-receive-count", maxReceiveCount.ToString(), "--visibility-timeout", visibilityTimeoutSeconds.ToString(), "--exit-with-stdin" })
            psi.ArgumentList.Add(a);
        if (dataDir is not null)
        {
            psi.ArgumentList.Add("--data-dir");
            psi.ArgumentList.Add(dataDir);
        }
        var p = Process.Start(psi)!;
        var stderr = new System.Text.StringBuilder();
        p.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        p.BeginErrorReadLine();
        var line = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (line is null || !line.Contains("\"ready\":true"))
        {
            try { p.Kill(true); } catch (InvalidOperationException) { }
            throw new InvalidOperationException($"fauxqs did not start: {line} {stderr}");
        }
        using var ready = JsonDocument.Parse(line);
        var r = ready.RootElement;
        return new LocalSqsServer(p, chosen, r.GetProperty("endpoint").GetString()!, r.GetProperty("queueUrl").GetString()!, r.GetProperty("dlqUrl").GetString()!);
    }

    /// <summary>An AWSSDK.SQS client pointed at this server (dummy credentials; fauxqs does not check signatures).</summary>
    public AmazonSQSClient CreateClient() =>
        new(new BasicAWSCredentials("local", "local"), new AmazonSQSConfig { ServiceURL = Endpoint, AuthenticationRegion = "us-east-1" });

    /// <summary>SIGSTOP: the server keeps its connections but answers nothing until <see cref="Resume"/>.</summary>
    public void Pause() => ChildProcess.Signal(process, ChildProcess.SIGSTOP);

    public void Resume() => ChildProcess.Signal(process, ChildProcess.SIGCONT);

    /// <summary>Stops the server abruptly, as a crash would.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            Resume();
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }
}
