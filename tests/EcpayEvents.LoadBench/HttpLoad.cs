using System.Diagnostics;
using System.Net;

namespace EcpayEvents.LoadBench;

/// <summary>What one closed-loop run measured.</summary>
internal sealed record LoadResult(int Sent, int Ok, int Errors, double Seconds, double P50Ms, double P99Ms, double GeneratorCpuPercent)
{
    public double Rate => Ok / Math.Max(Seconds, 1e-9);
}

/// <summary>
/// Closed-loop HTTP load: <c>concurrency</c> workers, each sending its next request as soon as the previous
/// one is answered, over one SocketsHttpHandler (keep-alive, a connection per worker). Bounded by a count
/// and a time. With a <c>rate</c>, request i is not sent before i / rate seconds from the start (a paced,
/// open-loop schedule while the workers keep up). <see cref="Acked"/> records when each request was answered
/// OK (for the settle lag).
/// </summary>
internal sealed class HttpLoad
{
    private static readonly Lazy<HttpClient> Shared = new(() => new HttpClient(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = 1024,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
    }) { Timeout = TimeSpan.FromSeconds(30) });

    public static HttpClient Client => Shared.Value;

    /// <summary>UTC time each index was acknowledged (default: not acknowledged).</summary>
    public DateTime[] Acked { get; private set; } = [];

    public async Task<LoadResult> RunAsync(Func<int, HttpRequestMessage> request, Func<HttpResponseMessage, bool> ok, int count, int concurrency, TimeSpan maxTime, double rate = 0)
    {
        var latencies = new double[count];
        Acked = new DateTime[count];
        var next = -1;
        var okCount = 0;
        var errors = 0;
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < maxTime)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= count) break;
                if (rate > 0 && TimeSpan.FromSeconds(i / rate) - clock.Elapsed is { Ticks: > 0 } early) await Task.Delay(early);
                var start = Stopwatch.GetTimestamp();
                try
                {
                    using var message = request(i);
                    using var response = await Client.SendAsync(message, HttpCompletionOption.ResponseContentRead);
                    if (ok(response)) { Interlocked.Increment(ref okCount); Acked[i] = DateTime.UtcNow; }
                    else Interlocked.Increment(ref errors);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref errors);
                }
                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        })).ToArray();
        await Task.WhenAll(workers);
        var seconds = clock.Elapsed.TotalSeconds;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds / seconds * 100;
        var sent = Math.Min(next, count);
        var measured = latencies.AsSpan(0, sent).ToArray();
        Array.Sort(measured);
        return new LoadResult(sent, okCount, errors, seconds, Percentile(measured, 0.50), Percentile(measured, 0.99), cpu);
    }

    public static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
