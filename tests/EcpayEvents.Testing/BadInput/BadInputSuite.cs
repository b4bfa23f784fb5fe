using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace EcpayEvents.Testing.BadInput;

/// <summary>
/// Sends generated hostile requests to each endpoint over raw sockets (loopback, real Kestrel) and counts
/// the answers by status class. Requests per endpoint: <c>BAD_INPUT_REQUESTS</c> (the full run: 10000) or
/// the short default; <c>BAD_INPUT_SEED</c> replays a run.
/// </summary>
public static class BadInputSuite
{
    public const int ShortRun = 600;

    public static int RequestsPerEndpoint =>
        int.TryParse(Environment.GetEnvironmentVariable("BAD_INPUT_REQUESTS"), out var n) && n > 0 ? n : ShortRun;

    public static int Seed =>
        int.TryParse(Environment.GetEnvironmentVariable("BAD_INPUT_SEED"), out var s) ? s : Random.Shared.Next();

    public sealed class EndpointResult(string name)
    {
        public string Name { get; } = name;
        public int Requests;
        public int S2xx, S3xx, S4xx, S5xx, NoAnswer;
        public ConcurrentDictionary<int, int> ByStatus { get; } = new();
        public ConcurrentDictionary<string, int> ByCategory { get; } = new();
        /// <summary>Up to 10 requests that were not answered 4xx: category, status, request head.</summary>
        public ConcurrentQueue<string> Unexpected { get; } = new();
    }

    /// <param name="allowed">Statuses other than 4xx an endpoint documents (Notifications' 503).</param>
    public static async Task<EndpointResult> RunAsync(Uri server, EndpointSpec endpoint, int requests, int seed,
        Action<BadInputGenerator>? configure = null, IReadOnlySet<int>? allowed = null, int parallelism = 4, CancellationToken ct = default)
    {
        var result = new EndpointResult(endpoint.Name);
        var generator = new BadInputGenerator(server, seed);
        configure?.Invoke(generator);
        var batch = new List<BadRequest>(requests);
        for (var i = 0; i < requests; i++) batch.Add(generator.Next(endpoint));
        await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = ct }, async (request, token) =>
        {
            var answer = await RawHttp.SendAsync(server, request.Raw, token);
            Interlocked.Increment(ref result.Requests);
            result.ByStatus.AddOrUpdate(answer.Status, 1, (_, c) => c + 1);
            result.ByCategory.AddOrUpdate(request.Category, 1, (_, c) => c + 1);
            switch (answer.Status)
            {
                case 0: Interlocked.Increment(ref result.NoAnswer); break;
                case < 300: Interlocked.Increment(ref result.S2xx); break;
                case < 400: Interlocked.Increment(ref result.S3xx); break;
                case < 500: Interlocked.Increment(ref result.S4xx); break;
                default: Interlocked.Increment(ref result.S5xx); break;
            }
            var ok = answer.Status is >= 400 and < 500 || (allowed?.Contains(answer.Status) ?? false);
            if (!ok && result.Unexpected.Count < 10)
                result.Unexpected.Enqueue($"[{request.Category}] answered {answer.Status}: {request.Printable}\n  -> {Printable(answer.Head + "\n" + answer.Body, 400)}");
        });
        return result;
    }

    public static string Table(IEnumerable<EndpointResult> results, int seed)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"bad-input suite, seed {seed} (BAD_INPUT_SEED={seed} replays it)");
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"endpoint",-34} {"requests",9} {"2xx",5} {"3xx",5} {"4xx",8} {"5xx",5} {"none",5}  4xx statuses");
        foreach (var r in results)
        {
            var statuses = string.Join(" ", r.ByStatus.Where(kv => kv.Key is >= 400 and < 500).OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}:{kv.Value}"));
            sb.AppendLine(CultureInfo.InvariantCulture, $"{r.Name,-34} {r.Requests,9} {r.S2xx,5} {r.S3xx,5} {r.S4xx,8} {r.S5xx,5} {r.NoAnswer,5}  {statuses}");
        }
        return sb.ToString();
    }

    public static string Categories(IEnumerable<EndpointResult> results)
    {
        var all = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var r in results)
            foreach (var (k, v) in r.ByCategory) all[k] = all.GetValueOrDefault(k) + v;
        return "by category: " + string.Join(", ", all.Select(kv => $"{kv.Key} {kv.Value}"));
    }

    /// <summary>Where a run's table is also written (TestResults/bad-input/NAME.txt under the repository).</summary>
    public static string Save(string name, string text)
    {
        var dir = Path.Combine(RepoPaths.Root, "TestResults", "bad-input");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name + ".txt");
        File.WriteAllText(path, text);
        return path;
    }

    private static string Printable(string s, int max = 200)
    {
        var t = new string(s.Select(c => c is '\r' ? '␍' : char.IsControl(c) && c != '\n' ? '·' : c).ToArray());
        return t.Length <= max ? t : t[..max] + "…";
    }
}
