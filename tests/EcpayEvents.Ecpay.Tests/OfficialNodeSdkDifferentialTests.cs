using System.Text;
using System.Text.Json;

namespace EcpayEvents.Ecpay.Tests;

/// <summary>
/// Differential test against ECPay's official Node SDK (ecpay_aio_nodejs, APIHelper.gen_chk_mac_value).
/// Cases hitting the SDK's documented defects are excluded and counted, never silently dropped:
/// values with '"' or '\' (JSON.stringify escapes them), with '{' or '}' (its string surgery on the JSON),
/// with non-ASCII upper-case letters (it lower-cases before encoding), and key sets whose order under
/// localeCompare differs from lower-case ordinal order (its locale-aware sort). Only one case in six may
/// contain the defect characters, so at most a quarter are excluded; the compared cases must cover CJK, emoji,
/// empty values, underscore and mixed-case keys, ASCII punctuation, spaces and MD5; 50 of them also go
/// through the `ecpay-events mac compute` process. Every case also goes through the ECPay sandbox's own
/// implementation (written separately from ECPay's documentation): the two must agree on every case, and so
/// with the SDK wherever it is compared.
/// </summary>
public sealed class OfficialNodeSdkDifferentialTests
{
    private const int Seed = 20_240_601;
    private const int Cases = 1_200;
    private const int MinimumCompared = 500;

    private static readonly string[] KnownKeys =
    [
        "MerchantID", "MerchantTradeNo", "MerchantTradeDate", "PaymentType", "TotalAmount", "TradeDesc", "ItemName",
        "ReturnURL", "ChoosePayment", "EncryptType", "ClientBackURL", "OrderResultURL", "CustomField1", "RtnCode",
        "RtnMsg", "TradeNo", "TradeAmt", "PaymentDate", "SimulatePaid", "StoreID", "Redeem", "red_dan", "vAccount",
    ];

    private static readonly string[] NonAsciiPieces =
    [
        "測", "試", "商", "品", "綠", "界", "金", "流", "促", "銷", "方", "案", "。", "，", "😀", "🎉", "💳", "👍🏽",
        "é", "ü", "ß", "ñ", "Ｘ", "Ａ", "É", "Ü", "ｂ", "１", "ー", "한", "글",
    ];

    public sealed record Case(string HashKey, string HashIV, bool Md5, string[][] Fields);

    [Fact]
    public async Task ComputeAgreesWithTheOfficialNodeSdkOnGeneratedParameterSetsOutsideItsDocumentedDefects()
    {
        var helper = await LocateSdkHelperAsync();
        var node = await LocateNodeAsync();
        var cases = Generate(new Random(Seed), Cases);

        var dir = Directory.CreateTempSubdirectory("ecpay-differential-");
        try
        {
            var casesPath = System.IO.Path.Combine(dir.FullName, "cases.json");
            var resultsPath = System.IO.Path.Combine(dir.FullName, "results.json");
            await File.WriteAllTextAsync(casesPath, Serialize(cases), TestContext.Current.CancellationToken);
            var script = System.IO.Path.Combine(AppContext.BaseDirectory, "Differential", "gen-chk-mac.cjs");
            var run = await RepoRoot.RunAsync(node, [script, helper, casesPath, resultsPath], timeout: TimeSpan.FromMinutes(2));
            Assert.True(run.ExitCode == 0, $"node failed ({run.ExitCode}): {run.Stderr}");

            using var results = JsonDocument.Parse(await File.ReadAllTextAsync(resultsPath, TestContext.Current.CancellationToken));
            var answers = results.RootElement.EnumerateArray().ToList();
            Assert.Equal(cases.Count, answers.Count);

            var excluded = new Dictionary<string, int>
            {
                ["quote or backslash in a value"] = 0,
                ["brace in a value"] = 0,
                ["non-ASCII upper-case letter in a value"] = 0,
                ["localeCompare key order differs"] = 0,
            };
            var excludedButAgreeing = 0;
            var compared = 0;
            var mismatches = new List<string>();
            var sandboxDisagreements = new List<string>();
            var comparedCases = new List<(Case Case, string SdkMac)>();
            var coverage = Categories.ToDictionary(c => c.Name, _ => 0);
            for (var i = 0; i < cases.Count; i++)
            {
                var c = cases[i];
                var fields = c.Fields.Select(f => new KeyValuePair<string, string>(f[0], f[1])).ToList();
                var ours = CheckMacValue.Compute(fields, c.HashKey, c.HashIV, c.Md5 ? MacAlgorithm.Md5 : MacAlgorithm.Sha256);
                var theirs = answers[i].GetProperty("mac").GetString();
                var sandbox = EcpayEvents.Sandbox.Protocol.SandboxMac.Compute(fields, c.HashKey, c.HashIV, c.Md5);
                if (sandbox != ours)
                {
                    sandboxDisagreements.Add($"case {i}: ours {ours}, sandbox {sandbox}, fields {Serialize([c])}");
                }
                var sdkOrder = answers[i].GetProperty("sdkOrder").EnumerateArray().Select(e => e.GetString()!).ToList();
                var defect = Defect(fields, sdkOrder);
                if (defect is not null)
                {
                    excluded[defect]++;
                    excludedButAgreeing += ours == theirs ? 1 : 0;
                    continue;
                }
                compared++;
                comparedCases.Add((c, theirs!));
                foreach (var (category, present) in Categories)
                {
                    coverage[category] += present(fields) ? 1 : 0;
                }
                if (ours != theirs)
                {
                    mismatches.Add($"case {i}: ours {ours}, SDK {theirs}, fields {Serialize([c])}");
                }
            }

            var summary = $"differential vs ecpay_aio_nodejs: {cases.Count} generated (seed {Seed}), {compared} compared, {mismatches.Count} mismatches; excluded: "
                + string.Join(", ", excluded.Select(e => $"{e.Key} {e.Value}"))
                + $" ({excludedButAgreeing} of the excluded happen to agree anyway); compared cases with: "
                + string.Join(", ", coverage.Select(c => $"{c.Key} {c.Value}"));
            TestContext.Current.TestOutputHelper?.WriteLine(summary);
            await File.WriteAllTextAsync(System.IO.Path.Combine(AppContext.BaseDirectory, "differential-summary.txt"), summary + "\n", TestContext.Current.CancellationToken);

            Assert.True(mismatches.Count == 0, summary + "\n" + string.Join("\n", mismatches.Take(5)));
            Assert.True(sandboxDisagreements.Count == 0, "the sandbox's CheckMacValue disagrees with ours:\n" + string.Join("\n", sandboxDisagreements.Take(5)));
            Assert.True(compared >= MinimumCompared, summary);
            Assert.All(excluded.Values, count => Assert.True(count > 0, "every defect category should be exercised: " + summary));
            Assert.True(excludedButAgreeing < excluded.Values.Sum(), "the excluded categories should really be SDK defects: " + summary);
            // What was compared (not excluded) must cover every kind of input the issue asks for.
            Assert.All(coverage, c => Assert.True(c.Value >= MinimumPerCategory, $"only {c.Value} compared cases with {c.Key}: {summary}"));
            Assert.True(excluded.Values.Sum() * 4 <= cases.Count, "at most a quarter of the cases may be excluded: " + summary);
            Assert.True(comparedCases.Count(c => c.Case.Md5) >= MinimumPerCategory, "compared MD5 cases: " + summary);

            // The same answers through the CLI process (`ecpay-events mac compute`), for a sample of the compared cases.
            await AssertTheCliAgreesAsync(SampleForCli(comparedCases));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private const int MinimumPerCategory = 20;
    private const int CliCases = 50;

    private static bool HasCjk(string s) => s.Any(c => c is >= '\u3000' and <= '\u9FFF' or >= '\uFF00' and <= '\uFFEF' or >= '\uAC00' and <= '\uD7AF');

    /// <summary>The kinds of input the differential test must cover among the cases it really compares.</summary>
    private static readonly (string Name, Func<List<KeyValuePair<string, string>>, bool> Present)[] Categories =
    [
        ("CJK", f => f.Any(x => HasCjk(x.Value))),
        ("emoji", f => f.Any(x => x.Value.EnumerateRunes().Any(r => r.Value >= 0x1F000))),
        ("empty value", f => f.Any(x => x.Value.Length == 0)),
        ("underscore key", f => f.Any(x => x.Key.Contains('_'))),
        ("mixed-case key", f => f.Any(x => x.Key.Any(char.IsAsciiLetterUpper) && x.Key.Any(char.IsAsciiLetterLower))),
        ("ASCII punctuation", f => f.Any(x => x.Value.Any(c => char.IsAsciiLetterOrDigit(c) is false && c is > ' ' and < '\u007F'))),
        ("space", f => f.Any(x => x.Value.Contains(' '))),
        ("'~' or '\''", f => f.Any(x => x.Value.Contains('~') || x.Value.Contains('\''))),
    ];

    /// <summary>The first compared cases, with MD5 ones and one of each category among them.</summary>
    private static List<(Case Case, string SdkMac)> SampleForCli(List<(Case Case, string SdkMac)> compared)
    {
        var sample = compared.Where(c => c.Case.Md5).Take(5).ToList();
        foreach (var (_, present) in Categories)
        {
            sample.AddRange(compared.Where(c => present(c.Case.Fields.Select(f => new KeyValuePair<string, string>(f[0], f[1])).ToList())).Take(3));
        }
        sample.AddRange(compared);
        return sample.Distinct().Take(CliCases).ToList();
    }

    private static async Task AssertTheCliAgreesAsync(List<(Case Case, string SdkMac)> sample)
    {
        Assert.Equal(CliCases, sample.Count);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(sample, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (item, _) =>
        {
            var (c, sdkMac) = item;
            var body = EcpayForm.ToFormBody(c.Fields.Select(f => new KeyValuePair<string, string>(f[0], f[1])));
            string[] args = ["mac", "compute", .. (c.Md5 ? ["--md5"] : Array.Empty<string>()), "--hash-key", c.HashKey, "--hash-iv", c.HashIV];
            var run = await MacCliTests.Run(Encoding.UTF8.GetBytes(body), null, args);
            if (run.ExitCode != 0 || MacCliTests.LastLine(run.Stdout) != sdkMac)
            {
                failures.Add($"CLI exit {run.ExitCode}, printed '{MacCliTests.LastLine(run.Stdout)}' {run.Stderr.Trim()}, SDK {sdkMac}, body {body}");
            }
        });
        Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(5)));
    }

    private static string? Defect(List<KeyValuePair<string, string>> fields, List<string> sdkOrder)
    {
        if (fields.Any(f => f.Value.Contains('"') || f.Value.Contains('\\')))
        {
            return "quote or backslash in a value";
        }
        if (fields.Any(f => f.Value.Contains('{') || f.Value.Contains('}')))
        {
            return "brace in a value";
        }
        if (fields.Any(f => f.Value.EnumerateRunes().Any(r => r.Value > 0x7F && Rune.ToLowerInvariant(r) != r)))
        {
            return "non-ASCII upper-case letter in a value";
        }
        var ourOrder = fields
            .Select((f, i) => (f.Key, Lower: f.Key.ToLowerInvariant(), i))
            .OrderBy(x => x.Lower, StringComparer.Ordinal).ThenBy(x => x.Key, StringComparer.Ordinal).ThenBy(x => x.i)
            .Select(x => x.Key);
        return ourOrder.SequenceEqual(sdkOrder) ? null : "localeCompare key order differs";
    }

    private static List<Case> Generate(Random random, int count)
    {
        var cases = new List<Case>(count);
        for (var n = 0; n < count; n++)
        {
            var fieldCount = random.Next(1, 13);
            var keys = new List<string>();
            while (keys.Count < fieldCount)
            {
                var key = random.Next(3) == 0 ? KnownKeys[random.Next(KnownKeys.Length)] : RandomKey(random);
                // Rarely, a key differing only by case from an existing one.
                if (keys.Count > 0 && random.Next(40) == 0)
                {
                    var existing = keys[random.Next(keys.Count)];
                    key = existing.ToUpperInvariant() == existing ? existing.ToLowerInvariant() : existing.ToUpperInvariant();
                }
                if (key is "CheckMacValue" or "HashKey" or "HashIV" || keys.Contains(key))
                {
                    continue;
                }
                keys.Add(key);
            }
            // One case in six probes one of the SDK's documented defects (and is then usually excluded); the
            // others never contain those characters, so most cases are really compared.
            var probe = random.Next(6) == 0 ? (Probe)random.Next(1, 4) : Probe.None;
            var fields = keys.Select(k => new[] { k, RandomValue(random, probe) }).ToArray();
            var credentials = random.Next(4) == 0 ? ("ejCk326UnaZWKisg", "q9jcZX8Ib9LM8wYk") : ("pwFHCqoQZGmho4w6", "EkRm7iFT261dpevs");
            cases.Add(new Case(credentials.Item1, credentials.Item2, random.Next(10) == 0, fields));
        }
        return cases;
    }

    private static string RandomKey(Random random)
    {
        const string letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        const string rest = letters + "0123456789_";
        var length = random.Next(1, 16);
        var sb = new StringBuilder();
        // Starts with a letter: integer-like keys would be reordered by JavaScript objects.
        sb.Append(letters[random.Next(letters.Length)]);
        for (var i = 1; i < length; i++)
        {
            // Underscores and digits less often, so most key sets are comparable.
            sb.Append(random.Next(6) == 0 ? rest[random.Next(letters.Length, rest.Length)] : letters[random.Next(letters.Length)]);
        }
        return sb.ToString();
    }

    private enum Probe
    {
        None,
        QuoteOrBackslash,
        Brace,
        NonAsciiUpperCase,
    }

    private static string RandomValue(Random random, Probe probe)
    {
        if (random.Next(10) == 0)
        {
            return "";
        }
        var length = random.Next(1, 30);
        var sb = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            var kind = random.Next(100);
            if (kind < 45)
            {
                sb.Append((char)random.Next('0', 'z' + 1) is var c && char.IsAsciiLetterOrDigit(c) ? c : 'a');
            }
            else if (kind < 70)
            {
                // ASCII punctuation and space; '"', '\', '{', '}' only in cases probing that defect.
                char p;
                do
                {
                    p = (char)random.Next(0x20, 0x7F);
                }
                while (char.IsAsciiLetterOrDigit(p)
                    || (p is '"' or '\\' && probe != Probe.QuoteOrBackslash)
                    || (p is '{' or '}' && probe != Probe.Brace));
                sb.Append(p);
            }
            else if (kind < 78)
            {
                sb.Append(' ');
            }
            else
            {
                var piece = NonAsciiPieces[random.Next(NonAsciiPieces.Length)];
                // Upper-case non-ASCII (Ｘ, Ａ, É, Ü) only in cases probing that defect.
                if (piece is "Ｘ" or "Ａ" or "É" or "Ü" && probe != Probe.NonAsciiUpperCase)
                {
                    piece = "綠";
                }
                sb.Append(piece);
            }
        }
        return sb.ToString();
    }

    private static string Serialize(IReadOnlyList<Case> cases)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartArray();
            foreach (var c in cases)
            {
                json.WriteStartObject();
                json.WriteString("hashKey", c.HashKey);
                json.WriteString("hashIV", c.HashIV);
                json.WriteBoolean("md5", c.Md5);
                json.WriteStartArray("fields");
                foreach (var f in c.Fields)
                {
                    json.WriteStartArray();
                    json.WriteStringValue(f[0]);
                    json.WriteStringValue(f[1]);
                    json.WriteEndArray();
                }
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Node ≥ 22 through the project's tooling script. Fails (never skips) when unavailable.</summary>
    private static async Task<string> LocateNodeAsync()
    {
        var run = await RepoRoot.RunAsync("bash", [System.IO.Path.Combine(RepoRoot.Path, "infrastructure", "local", "tooling.sh"), "node"], timeout: TimeSpan.FromMinutes(5));
        Assert.True(run.ExitCode == 0, $"tooling.sh node failed ({run.ExitCode}): {run.Stderr}");
        var node = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        Assert.True(node is not null && File.Exists(node), $"tooling.sh node printed no node binary: '{run.Stdout}'");
        return node;
    }

    private static async Task<string> LocateSdkHelperAsync()
    {
        var helper = System.IO.Path.Combine(RepoRoot.Path, "infrastructure", "local", "node_modules", "ecpay_aio_nodejs", "lib", "ecpay_payment", "helper.js");
        if (!File.Exists(helper))
        {
            var run = await RepoRoot.RunAsync("bash", [System.IO.Path.Combine(RepoRoot.Path, "infrastructure", "local", "tooling.sh"), "npm"], timeout: TimeSpan.FromMinutes(5));
            Assert.True(run.ExitCode == 0, $"tooling.sh npm failed ({run.ExitCode}): {run.Stderr}");
        }
        Assert.True(File.Exists(helper), $"ECPay's Node SDK is not installed at {helper} (infrastructure/local/package.json must list ecpay_aio_nodejs).");
        return helper;
    }
}
