using System.Diagnostics;
using System.Globalization;
using System.Text;
using EcpayEvents.LoadBench;

// The load generator of ./bench.sh. Each command prints `name=value` lines for the script's table.
//   ingest     --url U --steps 4,16,64 --seconds S                 one signed ReturnURL post, closed loop per step
//   sqs-send   --endpoint U --queue-url Q --steps … --seconds S   bare SendMessage of the same message (the reference)
//   seed       --cs CS --prefix P --count N --users U             U users and N pending deposits
//   prefill    --endpoint U --queue-url Q --prefix P --count N    the N deposits' paid results, on the queue (batches of 10)
//   settled    --cs CS --prefix P --count N --timeout S           waits for N credits; rate between first and last credit
//   mysql-raw  --cs CS --rows R --connections C --seconds S       autocommit single-row updates (the reference)
//   e2e        --url U --cs CS --prefix P --count N --concurrency C --timeout S [--rate R]   post (paced at R/s), then wait for the credits
//   sync-server --cs CS --port P                                  the synchronous design: verify and credit inside the callback
var command = args.Length > 0 ? args[0] : "";
string Opt(string name, string? fallback = null)
{
    var i = Array.IndexOf(args, "--" + name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback ?? throw new ArgumentException($"--{name} is required");
}
int Int(string name, int? fallback = null) => int.Parse(Opt(name, fallback?.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
void Put(string key, object value) => Console.WriteLine(FormattableString.Invariant($"{key}={value}"));
void PutLoad(string key, LoadResult r)
{
    Put(key + ".rate", Math.Round(r.Rate));
    Put(key + ".p50", Math.Round(r.P50Ms, 2));
    Put(key + ".p99", Math.Round(r.P99Ms, 2));
    Put(key + ".errors", r.Errors);
    Put(key + ".sent", r.Sent);
    Put(key + ".cpu", Math.Round(r.GeneratorCpuPercent));
}
// The highest rate over the steps with p99 <= 50 ms and no error (else the step with the lowest p99).
async Task Steps(string key, Func<int, HttpRequestMessage> request, Func<HttpResponseMessage, bool> ok)
{
    LoadResult? best = null;
    var bestConcurrency = 0;
    foreach (var c in Opt("steps", "4,16,64").Split(',').Select(int.Parse))
    {
        var load = new HttpLoad();
        await load.RunAsync(request, ok, 2000, c, TimeSpan.FromSeconds(1)); // warm-up
        var r = await load.RunAsync(request, ok, int.MaxValue / 2, c, TimeSpan.FromSeconds(Int("seconds", 5)));
        PutLoad($"{key}.c{c}", r);
        var good = r.Errors == 0 && r.P99Ms <= 50;
        var bestGood = best is { Errors: 0, P99Ms: <= 50 };
        if (best is null || (good && (!bestGood || r.Rate > best.Rate)) || (!good && !bestGood && r.P99Ms < best.P99Ms)) { best = r; bestConcurrency = c; }
    }
    PutLoad(key, best!);
    Put(key + ".concurrency", bestConcurrency);
}

switch (command)
{
    case "ingest":
    {
        var url = new Uri(Opt("url"));
        var body = Payments.ReturnUrlBody("BI" + Random.Shared.Next(100000, 999999), 1);
        await Steps("ingest", _ => new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new ByteArrayContent(body) { Headers = { { "Content-Type", "application/x-www-form-urlencoded" } } },
        }, r => r.IsSuccessStatusCode);
        break;
    }
    case "sqs-send":
    {
        var endpoint = new Uri(Opt("endpoint"));
        var json = Sqs.SendMessage(Opt("queue-url"), Payments.QueueMessage("BS" + Random.Shared.Next(100000, 999999), 1));
        await Steps("sqs", _ => Sqs.Request(endpoint, "SendMessage", json), r => r.IsSuccessStatusCode);
        break;
    }
    case "seed":
    {
        var clock = Stopwatch.StartNew();
        await new BenchDatabase(Opt("cs")).SeedAsync(Opt("prefix"), Int("count"), Int("users"));
        Put("seed.seconds", Math.Round(clock.Elapsed.TotalSeconds, 1));
        break;
    }
    case "prefill":
    {
        var endpoint = new Uri(Opt("endpoint"));
        var queueUrl = Opt("queue-url");
        var prefix = Opt("prefix");
        var count = Int("count");
        var batches = Enumerable.Range(0, (count + 9) / 10).ToArray();
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (b, _) =>
            await Sqs.CallAsync(endpoint, "SendMessageBatch", Sqs.SendMessageBatch(queueUrl,
                Enumerable.Range(b * 10, Math.Min(10, count - b * 10)).Select(i => Payments.QueueMessage(prefix, i)))));
        Put("prefill.queued", await Sqs.ApproximateCountAsync(endpoint, queueUrl));
        break;
    }
    case "settled":
    {
        var db = new BenchDatabase(Opt("cs"));
        var prefix = Opt("prefix");
        var count = Int("count");
        await db.WaitCreditedAsync(prefix, count, TimeSpan.FromSeconds(Int("timeout", 120)));
        var credits = await db.CreditsAsync(prefix);
        var times = credits.Select(c => c.CreditedAt).Order().ToArray();
        var span = times.Length > 1 ? (times[^1] - times[0]).TotalSeconds : double.NaN;
        Put("settle.credited", credits.Count);
        Put("settle.twice", credits.Count(c => c.Entries > 1));
        Put("settle.lost", count - credits.Count);
        Put("settle.rate", Math.Round((times.Length - 1) / span));
        Put("settle.seconds", Math.Round(span, 2));
        Put("settle.outOfBalance", await db.OutOfBalanceAsync());
        break;
    }
    case "mysql-raw":
    {
        var (updates, seconds) = await new BenchDatabase(Opt("cs")).RawUpdatesAsync(Int("rows", 1000), Int("connections"), TimeSpan.FromSeconds(Int("seconds", 5)));
        Put("raw.rate", Math.Round(updates / seconds));
        break;
    }
    case "e2e":
    {
        var url = new Uri(Opt("url"));
        var db = new BenchDatabase(Opt("cs"));
        var prefix = Opt("prefix");
        var count = Int("count");
        var bodies = Enumerable.Range(0, count).Select(i => Payments.ReturnUrlBody(prefix, i)).ToArray();
        var load = new HttpLoad();
        var firstPost = DateTime.UtcNow;
        var r = await load.RunAsync(i => new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new ByteArrayContent(bodies[i]) { Headers = { { "Content-Type", "application/x-www-form-urlencoded" } } },
        }, response => response.IsSuccessStatusCode, count, Int("concurrency"), TimeSpan.FromSeconds(Int("timeout", 120)), Int("rate", 0));
        var acked = load.Acked.Count(t => t != default);
        await db.WaitCreditedAsync(prefix, acked, TimeSpan.FromSeconds(Int("timeout", 120)));
        var credits = await db.CreditsAsync(prefix);
        var lags = credits.Where(c => load.Acked[c.Index] != default)
            .Select(c => Math.Max(0, (c.CreditedAt - load.Acked[c.Index]).TotalMilliseconds)).Order().ToArray();
        var lastCredit = credits.Count > 0 ? credits.Max(c => c.CreditedAt) : DateTime.UtcNow;
        Put("e2e.rate", Math.Round(credits.Count / (lastCredit - firstPost).TotalSeconds));
        Put("e2e.postRate", Math.Round(r.Rate));
        Put("e2e.acked", acked);
        Put("e2e.credited", credits.Count);
        var creditedIndexes = credits.Select(c => c.Index).ToHashSet();
        Put("e2e.lost", load.Acked.Select((t, i) => (t, i)).Count(a => a.t != default && !creditedIndexes.Contains(a.i)));
        Put("e2e.twice", credits.Count(c => c.Entries > 1));
        Put("e2e.lagP50", Math.Round(HttpLoad.Percentile(lags, 0.50)));
        Put("e2e.lagP99", Math.Round(HttpLoad.Percentile(lags, 0.99)));
        Put("e2e.postP99", Math.Round(r.P99Ms, 1));
        Put("e2e.cpu", Math.Round(r.GeneratorCpuPercent));
        Put("e2e.outOfBalance", await db.OutOfBalanceAsync());
        break;
    }
    case "startup":
    {
        // --exe FILE [--args "…"] --port P --runs N [--load ingest]: median start ms, RSS idle, RSS after 5 s of posts
        var key = Opt("key");
        Func<Uri, Task>? load = Opt("load", "") == "ingest"
            ? async baseUrl =>
            {
                var body = Payments.ReturnUrlBody("BR" + Random.Shared.Next(100000, 999999), 1);
                var url = new Uri(baseUrl, "/ecpay/return");
                await new HttpLoad().RunAsync(_ => new HttpRequestMessage(HttpMethod.Post, url)
                {
                    Content = new ByteArrayContent(body) { Headers = { { "Content-Type", "application/x-www-form-urlencoded" } } },
                }, r => r.IsSuccessStatusCode, int.MaxValue / 2, 16, TimeSpan.FromSeconds(5));
            }
            : null;
        var (starts, idle, loaded) = await StartUp.MeasureAsync(Opt("exe"), Opt("args", ""), Int("port"), Int("runs", 5), load);
        Array.Sort(starts);
        Put(key + ".startMs", Math.Round(starts[starts.Length / 2], 1));
        Put(key + ".idleMb", Math.Round(idle, 1));
        if (load is not null) Put(key + ".loadedMb", Math.Round(loaded, 1));
        break;
    }
    case "sync-server":
        await SyncServer.RunAsync(Opt("cs"), Int("port"));
        break;
    default:
        Console.Error.WriteLine("usage: see the comment at the top of tests/EcpayEvents.LoadBench/Program.cs");
        return 2;
}
return 0;
