using EcpayEvents.Testing;
using System.Net;
using System.Text;
using EcpayEvents.Ecpay;

namespace EcpayEvents.Settlement.Tests;

/// <summary>One stack for the suite; Notifications' console stays quiet (thousands of security lines, all captured).</summary>
public sealed class ForgeryStackFixture : StackFixture
{
    protected override Task<SettlementStack> StartAsync() => SettlementStack.StartAsync(nameof(ForgerySuiteTests),
        notificationsArgs: ["--Logging:Console:LogLevel:Default=None"], settlementArgs: ["--Logging:Console:LogLevel:Default=None"]);
}

/// <summary>
/// Generated forgeries through the real Notifications → SQS → Settlement, built from every signed output the
/// system produces (checkout forms as the page and as JSON, QueryTradeInfo requests) and from genuine ECPay
/// posts: re-splits of the signed strings, case changes the MAC does not see, bit flips, wrong keys, another
/// merchant, replays to another order / amount / endpoint, SimulatePaid=1, failure after success, a lower-case
/// MAC. Prints a table; credited must be exactly the genuine payments, once each.
/// </summary>
public sealed class ForgerySuiteTests(ForgeryStackFixture fixture) : IClassFixture<ForgeryStackFixture>
{
    private const int Seed = 20261207;
    private static readonly EcpayCredentials Ours = SettlementStack.Credentials;
    private static readonly EcpayCredentials OtherMerchant = new("2000132", "5294y06JbISpM5x9", "v77hoKGq4kWxNNIS"); // ECPay's other public stage merchant
    private static readonly string[] Methods = [ChoosePayment.Credit, ChoosePayment.Atm, ChoosePayment.Cvs, ChoosePayment.Barcode, ChoosePayment.WebAtm, ChoosePayment.All];

    private SettlementStack S => fixture.Stack;

    /// <summary>A post to Notifications: the body as bytes, so a flipped bit is sent exactly as flipped.</summary>
    private sealed record Post(string Path, byte[] Body)
    {
        public Post(string path, string body) : this(path, Encoding.UTF8.GetBytes(body)) { }
    }

    private sealed record Row(string Attack, int Tried, int Acknowledged, long Credited);

    [Fact]
    public async Task OnlyTheGenuinePaymentsAreCreditedOnceEach()
    {
        var random = new Random(Seed);
        var rows = new List<Row>();
        await using var api = await CheckoutApi.StartAsync(S);
        var victim = await api.CreateUserAsync();
        var attacker = await api.CreateUserAsync();

        // Deposits: one paid genuinely per method (the victim's), one never paid per method (the attacker's targets).
        // Every checkout form is served once — as the page or as JSON — and kept: a signed output.
        var signedOutputs = new List<(string What, List<KeyValuePair<string, string>> Fields)>();
        var genuine = new List<ApiDeposit>();
        var targets = new List<ApiDeposit>();
        for (var i = 0; i < Methods.Length; i++)
        {
            foreach (var (owner, list) in new[] { (victim, genuine), (attacker, targets) })
            {
                var d = await api.CreateDepositAsync(owner, 500 + (10 * i) + (owner == attacker ? 1 : 0), Methods[i], "點數#bonus");
                var page = (signedOutputs.Count % 2) == 0;
                signedOutputs.Add(($"checkout {(page ? "page" : "JSON")} {Methods[i]}", page ? await api.CheckoutPageAsync(d.Id) : await api.CheckoutJsonAsync(d.Id)));
                list.Add(d);
            }
        }
        await using (var query = await QueryTradeInfoCapture.StartAsync())
        {
            foreach (var d in genuine.Concat(targets))
                signedOutputs.Add(("QueryTradeInfo request", (await query.RequestAsync(d.MerchantTradeNo))!));
        }
        Assert.All(signedOutputs, o => Assert.True(CheckMacValue.Verify(o.Fields, Ours.HashKey, Ours.HashIv), o.What));

        // The oracle itself: item names that would re-split the signed checkout are refused at the input.
        var oracleTried = 0;
        var oraclePosts = new List<Post>();
        var oracleCreated = 0;
        foreach (var t in targets)
        {
            foreach (var itemName in new[] { $"a&MerchantID={Ours.MerchantId}&MerchantTradeNo={t.MerchantTradeNo}&RtnCode=1&TradeAmt={t.Amount}&TradeNo=1&zz=", "x=y", "&", "a\r\nRtnCode=1" })
            {
                oracleTried++;
                var (status, carrier, _) = await api.RequestDepositAsync(attacker, t.Amount, t.Method, itemName);
                if (status != HttpStatusCode.Created) continue;
                // Only if the oracle were open: the server signed the attacker's string; re-split, it credits the target.
                oracleCreated++;
                var form = await api.CheckoutJsonAsync(carrier!.Id);
                signedOutputs.Add(("checkout JSON with the attacker's itemName", form));
                if (itemName.EndsWith("&zz=", StringComparison.Ordinal)) oraclePosts.Add(new("/ecpay/return", EcpayForm.ToFormBody(SigningOracleTests.Resplit(form, itemName[2..^4]))));
            }
        }
        rows.Add(new Row("oracle: itemName with & = CR LF (POST deposits; 2nd column: 201 created)", oracleTried, oracleCreated, 0));

        // Genuine ECPay posts: the number issued for offline methods, then paid.
        var genuinePosts = new List<Post>();
        var genuinePaid = new Dictionary<ApiDeposit, Dictionary<string, string>>();
        for (var i = 0; i < genuine.Count; i++)
        {
            var d = genuine[i];
            var info = d.Method switch
            {
                ChoosePayment.Atm => SignedEcpayPost.AtmIssued(d.MerchantTradeNo, d.Amount),
                ChoosePayment.Cvs => SignedEcpayPost.CvsIssued(d.MerchantTradeNo, d.Amount),
                ChoosePayment.Barcode => SignedEcpayPost.BarcodeIssued(d.MerchantTradeNo, d.Amount),
                _ => null,
            };
            if (info is not null) genuinePosts.Add(new("/ecpay/payment-info", EcpayForm.ToFormBody(info)));
            var paid = SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, d.Amount, tradeNo: "26120700000000" + i.ToString("D2", System.Globalization.CultureInfo.InvariantCulture));
            genuinePaid[d] = paid;
            genuinePosts.Add(new("/ecpay/return", EcpayForm.ToFormBody(paid)));
        }
        rows.Add(await RunAsync("genuine ECPay posts", genuinePosts));

        // ---- forgeries ----
        rows.Add(await RunAsync("the oracle's re-split posts (none unless an item name got through)", oraclePosts));
        var canonical = new List<Post>();
        foreach (var (_, fields) in signedOutputs)
            foreach (var variant in Resplits(fields))
                foreach (var path in new[] { "/ecpay/return", "/ecpay/payment-info" })
                    canonical.Add(new(path, EcpayForm.ToFormBody(variant)));
        rows.Add(await RunAsync("signed outputs re-split / re-cased", canonical));

        var flips = new List<Post>();
        foreach (var post in genuinePosts)
        {
            for (var n = 0; n < 40; n++)
            {
                var flipped = (byte[])post.Body.Clone();
                var bit = random.Next(flipped.Length * 8);
                flipped[bit / 8] ^= (byte)(1 << (bit % 8));
                flips.Add(new(post.Path, flipped));
            }
        }
        rows.Add(await RunAsync("bit flips of genuine posts", flips));

        var wrongKeys = new List<Post>();
        foreach (var t in targets)
        {
            var paid = Unsigned(SignedEcpayPost.ReturnUrl(t.MerchantTradeNo, t.Amount));
            wrongKeys.Add(new("/ecpay/return", EcpayForm.ToFormBody(WithMac(paid, CheckMacValue.Compute(paid, RandomKey(random), RandomKey(random))))));
            wrongKeys.Add(new("/ecpay/return", EcpayForm.ToFormBody(WithMac(paid, CheckMacValue.Compute(paid, Ours.HashIv, Ours.HashKey)))));
            wrongKeys.Add(new("/ecpay/return", EcpayForm.ToFormBody(WithMac(paid, CheckMacValue.Compute(paid, Ours.HashKey, Ours.HashIv, MacAlgorithm.Md5)))));
            wrongKeys.Add(new("/ecpay/return", EcpayForm.ToFormBody(WithMac(paid, CheckMacValue.Compute(paid, OtherMerchant.HashKey, OtherMerchant.HashIv)))));
            wrongKeys.Add(new("/ecpay/return", EcpayForm.ToFormBody(WithMac(paid, new string('0', 64)))));
        }
        rows.Add(await RunAsync("wrong keys (random, swapped, MD5, another merchant's)", wrongKeys));

        var merchantSwaps = new List<Post>();
        foreach (var t in targets)
        {
            var other = Unsigned(SignedEcpayPost.ReturnUrl(t.MerchantTradeNo, t.Amount, merchantId: OtherMerchant.MerchantId));
            merchantSwaps.Add(new("/ecpay/return", EcpayForm.ToFormBody(WithMac(other, CheckMacValue.Compute(other, OtherMerchant.HashKey, OtherMerchant.HashIv)))));
            merchantSwaps.Add(new("/ecpay/return", EcpayForm.ToFormBody(WithMac(other, CheckMacValue.Compute(other, Ours.HashKey, Ours.HashIv)))));
        }
        rows.Add(await RunAsync("MerchantID swaps", merchantSwaps));

        var replays = new List<Post>();
        foreach (var (d, paid) in genuinePaid)
        {
            foreach (var t in targets)
                replays.Add(new("/ecpay/return", EcpayForm.ToFormBody(Replace(paid, "MerchantTradeNo", t.MerchantTradeNo))));
            replays.Add(new("/ecpay/return", EcpayForm.ToFormBody(Replace(paid, "TradeAmt", (d.Amount * 10).ToString(System.Globalization.CultureInfo.InvariantCulture)))));
            replays.Add(new("/ecpay/payment-info", EcpayForm.ToFormBody(paid)));
        }
        foreach (var post in genuinePosts.Where(p => p.Path == "/ecpay/payment-info"))
            replays.Add(post with { Path = "/ecpay/return" });
        rows.Add(await RunAsync("replays to another order / amount / endpoint", replays));

        rows.Add(await RunAsync("replays as sent (ECPay's re-sends)", genuinePosts));

        var simulated = targets.Select(t => new Post("/ecpay/return", EcpayForm.ToFormBody(SignedEcpayPost.ReturnUrl(t.MerchantTradeNo, t.Amount, simulatePaid: "1")))).ToList();
        rows.Add(await RunAsync("SimulatePaid=1 (signed)", simulated));

        var failures = genuine.Select(d => new Post("/ecpay/return", EcpayForm.ToFormBody(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, d.Amount, rtnCode: "10100058", rtnMsg: "付款失敗")))).ToList();
        rows.Add(await RunAsync("failure after success (signed)", failures));

        var lowerMac = genuinePaid.Values.Select(p => new Post("/ecpay/return", EcpayForm.ToFormBody(WithMac(Unsigned(p), p[CheckMacValue.FieldName].ToLowerInvariant())))).ToList();
        rows.Add(await RunAsync("lower-case MAC", lowerMac));

        // ---- the table, then what must hold ----
        var table = Table(rows, signedOutputs.Count(o => o.What.StartsWith("checkout", StringComparison.Ordinal)), signedOutputs.Count(o => o.What.StartsWith("QueryTradeInfo", StringComparison.Ordinal)));
        TestContext.Current.TestOutputHelper?.WriteLine(table);
        await File.WriteAllTextAsync(Path.Combine(AppContext.BaseDirectory, "forgery-suite.txt"), table, TestContext.Current.CancellationToken);

        var credited = await S.Db.ScalarAsync<long>("SELECT COUNT(*) FROM ledger_entries");
        Assert.True(credited == genuine.Count, table);
        foreach (var d in genuine)
        {
            Assert.Equal("completed", await S.StatusAsync(d.Id));
            Assert.Equal(1, await S.LedgerEntriesAsync(d.Id));
        }
        foreach (var t in targets)
        {
            Assert.Equal("pending", await S.StatusAsync(t.Id));
            Assert.Equal(0, await S.LedgerEntriesAsync(t.Id));
        }
        Assert.Equal(genuine.Sum(d => d.Amount), await S.BalanceAsync(victim));
        Assert.Equal(0, await S.BalanceAsync(attacker));
        Assert.Equal(0, oracleCreated);
        // Nothing forged was acknowledged; a flipped bit only gets through where the MAC cannot see it (the case of a
        // letter in a value: ECPay lower-cases the signed string), and then it is the same payment again.
        Assert.All(rows.Where(r => r.Attack.StartsWith("signed outputs", StringComparison.Ordinal) || r.Attack.StartsWith("wrong keys", StringComparison.Ordinal)
            || r.Attack.StartsWith("MerchantID", StringComparison.Ordinal) || r.Attack.StartsWith("replays to", StringComparison.Ordinal) || r.Attack.StartsWith("the oracle", StringComparison.Ordinal) || r.Attack.StartsWith("lower-case", StringComparison.Ordinal)),
            r => Assert.True(r.Acknowledged == 0, $"{r.Attack}: {r.Acknowledged} acknowledged\n{table}"));
        Assert.All(rows.Skip(2), r => Assert.True(r.Credited == 0, $"{r.Attack}: credited {r.Credited}\n{table}"));
        Assert.Equal(0, await S.DeadLetteredAsync());
        await S.Db.AssertLedgerInvariantAsync();
        // No secret in any line either service logged.
        Assert.DoesNotContain(S.Logs.Entries, l => l.Message.Contains(Ours.HashKey, StringComparison.Ordinal) || l.Message.Contains(Ours.HashIv, StringComparison.Ordinal));
    }

    /// <summary>Posts concurrently (8 at a time), waits for Settlement to finish, and counts what it credited.</summary>
    private async Task<Row> RunAsync(string attack, IReadOnlyList<Post> posts)
    {
        var before = await S.Db.ScalarAsync<long>("SELECT COUNT(*) FROM ledger_entries");
        var acknowledged = 0;
        await Parallel.ForEachAsync(posts, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (post, _) =>
        {
            using var content = new ByteArrayContent(post.Body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-www-form-urlencoded");
            using var response = await S.Http.PostAsync(new Uri(S.NotificationsUrl, post.Path), content);
            if (response.StatusCode == HttpStatusCode.OK && await response.Content.ReadAsStringAsync() == NotificationsAnswer.Ok) Interlocked.Increment(ref acknowledged);
        });
        await S.WaitForQueueDrainedAsync(60);
        var after = await S.Db.ScalarAsync<long>("SELECT COUNT(*) FROM ledger_entries");
        return new Row(attack, posts.Count, acknowledged, after - before);
    }

    private static class NotificationsAnswer
    {
        public const string Ok = "1|OK";
    }

    /// <summary>
    /// Posts that carry the same MAC as <paramref name="signed"/> but split its signed string differently: every run
    /// of adjacent pairs merged into one field (its value then holds '&amp;'), keys lower- and upper-cased, values with
    /// their case flipped (ECPay lower-cases the encoded string, so case is invisible to the MAC); and the fields
    /// themselves plus the ones a paid post needs.
    /// </summary>
    private static IEnumerable<List<KeyValuePair<string, string>>> Resplits(List<KeyValuePair<string, string>> signed)
    {
        var mac = signed.Single(f => f.Key == CheckMacValue.FieldName).Value;
        var raw = CheckMacValue.Explain(signed, Ours.HashKey, Ours.HashIv).Raw;
        var joined = raw[("HashKey=" + Ours.HashKey + "&").Length..^("&HashIV=" + Ours.HashIv).Length];
        var segments = joined.Split('&');
        var fields = Unsigned(signed.ToDictionary());

        yield return WithMac(fields, mac);
        if (segments.Any(s => !s.Contains('=', StringComparison.Ordinal))) yield break; // a value held '&' (only if the oracle were open)
        for (var i = 0; i < segments.Length; i++)
        {
            for (var j = i + 1; j < segments.Length; j++)
            {
                var merged = segments[..i].Append(string.Join('&', segments[i..(j + 1)])).Concat(segments[(j + 1)..]).Select(Pair).ToList();
                // Sorted again, the fields must join to the same string (always, unless a value held '&' or '=').
                if (CheckMacValue.Compute(merged, Ours.HashKey, Ours.HashIv) == mac) yield return WithMac(merged, mac);
            }
        }
        yield return Checked(fields.Select(f => new KeyValuePair<string, string>(f.Key.ToLowerInvariant(), f.Value)).ToList());
        yield return Checked(fields.Select(f => new KeyValuePair<string, string>(f.Key.ToUpperInvariant(), f.Value)).ToList());
        yield return Checked(fields.Select(f => new KeyValuePair<string, string>(f.Key, FlipCase(f.Value))).ToList());
        var promoted = new Dictionary<string, string>(fields) { ["RtnCode"] = "1", ["TradeNo"] = "2612070000009999", ["TradeAmt"] = fields.GetValueOrDefault("TotalAmount") ?? "1" };
        yield return WithMac(promoted, mac);

        List<KeyValuePair<string, string>> Checked(List<KeyValuePair<string, string>> variant)
        {
            Assert.Equal(mac, CheckMacValue.Compute(variant, Ours.HashKey, Ours.HashIv)); // the server's own signature
            return WithMac(variant, mac);
        }

        static KeyValuePair<string, string> Pair(string s) => new(s[..s.IndexOf('=')], s[(s.IndexOf('=') + 1)..]);

        static string FlipCase(string s) => new(s.Select(c => char.IsAsciiLetterLower(c) ? char.ToUpperInvariant(c) : char.IsAsciiLetterUpper(c) ? char.ToLowerInvariant(c) : c).ToArray());
    }

    private static Dictionary<string, string> Unsigned(Dictionary<string, string> fields) =>
        fields.Where(f => f.Key != CheckMacValue.FieldName).ToDictionary();

    private static List<KeyValuePair<string, string>> WithMac(IEnumerable<KeyValuePair<string, string>> fields, string mac) =>
        [.. fields.Where(f => f.Key != CheckMacValue.FieldName), new(CheckMacValue.FieldName, mac)];

    /// <summary>A genuine post with one value changed and the original MAC kept.</summary>
    private static Dictionary<string, string> Replace(Dictionary<string, string> fields, string key, string value) =>
        new(fields) { [key] = value };

    private static string RandomKey(Random random) => new(Enumerable.Range(0, 16).Select(_ => (char)random.Next('A', 'Z' + 1)).ToArray());

    private static string Table(List<Row> rows, int checkoutForms, int queryRequests)
    {
        var sb = new StringBuilder();
        sb.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"Forgery suite (seed {Seed}; signed outputs: {checkoutForms} checkout forms as page or JSON, {queryRequests} QueryTradeInfo requests)");
        sb.AppendLine("| attack | posts tried | answered 1|OK | credited |");
        sb.AppendLine("|---|---:|---:|---:|");
        foreach (var r in rows)
            sb.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"| {r.Attack} | {r.Tried:N0} | {r.Acknowledged:N0} | {r.Credited:N0} |");
        var forged = rows.Skip(2).ToList();
        sb.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"| **all forgeries and replays** | {forged.Sum(r => r.Tried):N0} | {forged.Sum(r => r.Acknowledged):N0} | {forged.Sum(r => r.Credited):N0} |");
        return sb.ToString();
    }
}
