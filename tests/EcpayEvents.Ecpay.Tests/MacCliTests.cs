using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace EcpayEvents.Ecpay.Tests;

/// <summary>`ecpay-events mac …` run as a real process from the built output.</summary>
public sealed class MacCliTests
{
    private const string Key = "pwFHCqoQZGmho4w6";
    private const string Iv = "EkRm7iFT261dpevs";
    private const string Body = "MerchantID=3002607&ItemName=My+Test+Product&TotalAmount=300";
    private const string Mac = "7712A5E6EDC3B57086063C88568084C66CE882A21D40E74DE5ACA3B478C6F316";

    internal static string CliDll()
    {
        var local = Path.Combine(AppContext.BaseDirectory, "ecpay-events.dll");
        if (File.Exists(local) && File.Exists(Path.Combine(AppContext.BaseDirectory, "ecpay-events.runtimeconfig.json")))
        {
            return local;
        }
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
        return Path.Combine(RepoRoot.Path, "infrastructure", "EcpayEvents.Cli", "bin", configuration, "net10.0", "ecpay-events.dll");
    }

    private static Task<RepoRoot.ProcessResult> Run(string stdin, params string[] args)
        => Run(stdin, null, args);

    private static Task<RepoRoot.ProcessResult> Run(string stdin, IDictionary<string, string?>? env, params string[] args)
        => Run(new UTF8Encoding(false).GetBytes(stdin), env, args);

    internal static Task<RepoRoot.ProcessResult> Run(byte[] stdin, IDictionary<string, string?>? env, params string[] args)
    {
        var environment = new Dictionary<string, string?> { ["ECPAY_HASH_KEY"] = null, ["ECPAY_HASH_IV"] = null };
        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
        {
            environment[k] = v;
        }
        return RepoRoot.RunAsync("dotnet", [CliDll(), .. args], stdin, environment, TimeSpan.FromMinutes(1));
    }

    internal static string LastLine(string output) => output.TrimEnd('\n').Split('\n')[^1];

    [Fact]
    public async Task ComputePrintsTheMacOnItsLastLine()
    {
        var run = await Run(Body, "mac", "compute", "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(Mac, LastLine(run.Stdout));
    }

    [Fact]
    public async Task ComputeIgnoresOneTrailingNewlineFromEcho()
        => Assert.Equal(Mac, LastLine((await Run(Body + "\n", "mac", "compute", "--hash-key", Key, "--hash-iv", Iv)).Stdout));

    [Fact]
    public async Task ComputeTakesKeysFromTheEnvironment()
    {
        var run = await Run(Body, new Dictionary<string, string?> { ["ECPAY_HASH_KEY"] = Key, ["ECPAY_HASH_IV"] = Iv }, "mac", "compute");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(Mac, LastLine(run.Stdout));
    }

    [Fact]
    public async Task ComputeUsesMd5WhenAsked()
    {
        var run = await Run("MerchantID=2000132&AllowanceAmt=100&AllowanceDate=2025%2F01%2F01+12%3A00%3A00&AllowanceNo=A01-23456789&InvoiceNo=AB-12345678&RtnCode=1&RtnMsg=OK",
            "mac", "compute", "--md5", "--hash-key", "ejCk326UnaZWKisg", "--hash-iv", "q9jcZX8Ib9LM8wYk");
        Assert.Equal("6A248D13B8C5B5C4F93D38FB5F2E2B5F", LastLine(run.Stdout));
    }

    [Fact]
    public async Task ExplainShowsTheSortedRawAndEncodedStringsAndIgnoresAnInputMac()
    {
        var run = await Run(Body + "&CheckMacValue=ABC", "mac", "compute", "--explain", "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("HashKey=pwFHCqoQZGmho4w6&ItemName=My Test Product&MerchantID=3002607&TotalAmount=300&HashIV=EkRm7iFT261dpevs", run.Stdout);
        Assert.Contains("hashkey%3dpwfhcqoqzgmho4w6%26itemname%3dmy+test+product%26merchantid%3d3002607%26totalamount%3d300%26hashiv%3dekrm7ift261dpevs", run.Stdout);
        Assert.Contains("CheckMacValue field is ignored", run.Stdout);
        Assert.Equal(Mac, LastLine(run.Stdout));
    }

    [Fact]
    public async Task VerifyExitsZeroForAValidPost()
    {
        var run = await Run($"{Body}&CheckMacValue={Mac}", "mac", "verify", "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("valid", LastLine(run.Stdout));
    }

    [Fact]
    public async Task VerifyExitsOneAndPrintsExpectedAndReceivedForAnInvalidPost()
    {
        var run = await Run($"{Body.Replace("300", "3000")}&CheckMacValue={Mac}", "mac", "verify", "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"received: {Mac}", run.Stdout);
        Assert.Contains("expected: ", run.Stdout);
    }

    [Fact]
    public async Task VerifyHintsAtAValueThatLooksDoubleEncoded()
    {
        var run = await Run($"MerchantID=3002607&ItemName=My%2BTest%2BProduct&TotalAmount=300&CheckMacValue={Mac}".Replace("%2B", "%252B"), "mac", "verify", "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("double-encoded", run.Stdout);
    }

    [Fact]
    public async Task VerifyHintsAtTrailingWhitespaceThatExplainsTheMismatch()
    {
        var run = await Run($"MerchantID=3002607&ItemName=My+Test+Product&TotalAmount=300%0A&CheckMacValue={Mac}", "mac", "verify", "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("it matches once that whitespace is trimmed", run.Stdout);
    }

    [Fact]
    public async Task VerifyHintsAtKeysDifferingOnlyByCase()
    {
        var run = await Run($"{Body}&itemname=x&CheckMacValue={Mac}", "mac", "verify", "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("ItemName/itemname", run.Stdout);
    }

    [Fact]
    public async Task VerifyHintsWhenTheOtherAlgorithmMatches()
    {
        var md5 = LastLine((await Run(Body, "mac", "compute", "--md5", "--hash-key", Key, "--hash-iv", Iv)).Stdout);
        var run = await Run($"{Body}&CheckMacValue={md5}", "mac", "verify", "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("add --md5", run.Stdout);
    }

    [Theory]
    [InlineData("verify", Body)]
    [InlineData("compute", "a=%zz")]
    [InlineData("compute", "a=1&a=2")]
    [InlineData("compute", "")]
    public async Task BadInputIsOneLineOnStderrAndExitCodeTwo(string mode, string body)
    {
        var run = await Run(body, "mac", mode, "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(2, run.ExitCode);
        Assert.Single(run.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal("", run.Stdout);
    }

    [Theory]
    [InlineData("--hash-iv", Iv)]
    [InlineData("--hash-key", Key)]
    public async Task AMissingKeyIsOneLineOnStderrAndExitCodeTwo(string option, string value)
    {
        var run = await Run(Body, "mac", "compute", option, value);
        Assert.Equal(2, run.ExitCode);
        Assert.Single(run.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains("ECPAY_HASH_", run.Stderr);
    }

    [Theory]
    [InlineData("a=1\nb=2", "raw line break at character 4")]
    [InlineData("a=1&b=2\n\n", "raw line break at character 8")]
    [InlineData("a=1\r\nb=2", "raw carriage return at character 4")]
    [InlineData("a=x\ty", "raw tab at character 4")]
    public async Task ComputeRefusesRawLineBreaksAndTabsInsteadOfSigningThem(string body, string message)
    {
        // Fields pasted one per line would otherwise be signed as one field whose value holds the rest.
        var run = await Run(body, "mac", "compute", "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith($"ecpay-events mac compute: {message} of the body", Assert.Single(run.Stderr.TrimEnd('\n').Split('\n')));
        Assert.Equal("", run.Stdout);
    }

    [Fact]
    public async Task PercentEncodedLineBreaksAndTabsAreOrdinaryValues()
    {
        var run = await Run("a=1%0Ab%3D2&c=%09", "mac", "compute", "--explain", "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("a%3d1%0ab%3d2%26c%3d%09", run.Stdout); // the encoded string: one value with a line break, one with a tab
    }

    [Fact]
    public async Task AnOptionWhereAKeyShouldBeIsAMissingValueNotTheKey()
    {
        var run = await Run(Body, "mac", "compute", "--hash-key", "--md5", "--hash-iv", Iv);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--hash-key needs a value (got the option '--md5'", Assert.Single(run.Stderr.TrimEnd('\n').Split('\n')));
    }

    [Fact]
    public async Task UnreadableStdinIsOneLineOnStderrAndExitCodeTwo()
    {
        // stdin is a directory: reading it fails (EISDIR). No stack trace.
        var run = await RepoRoot.RunAsync("/bin/sh",
            ["-c", "exec dotnet \"$0\" mac compute --hash-key \"$1\" --hash-iv \"$2\" < /", CliDll(), Key, Iv],
            stdin: (byte[]?)null, env: new Dictionary<string, string?> { ["ECPAY_HASH_KEY"] = null, ["ECPAY_HASH_IV"] = null }, timeout: TimeSpan.FromMinutes(1));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(": cannot read stdin: ", Assert.Single(run.Stderr.TrimEnd('\n').Split('\n')));
        Assert.Equal("", run.Stdout);
    }

    [Fact]
    public async Task AnUnknownOptionIsExitCodeTwo()
        => Assert.Equal(2, (await Run(Body, "mac", "compute", "--sha1", "--hash-key", Key, "--hash-iv", Iv)).ExitCode);

    private static byte[] Bytes(params object[] parts)
        => parts.SelectMany(p => p switch
        {
            string text => Encoding.UTF8.GetBytes(text),
            byte[] raw => raw,
            _ => throw new ArgumentException("string or byte[]"),
        }).ToArray();

    [Theory]
    [InlineData("compute")]
    [InlineData("verify")]
    public async Task RawInvalidUtf8OnStdinIsOneLineOnStderrAndExitCodeTwo(string mode)
    {
        // Before: Console.In turned 0xFF into U+FFFD and printed a MAC with exit 0.
        var run = await Run(Bytes("MerchantID=3002607&ItemName=", new byte[] { 0xFF }, $"&TotalAmount=300&CheckMacValue={Mac}"), null, "mac", mode, "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        var line = Assert.Single(run.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains("not valid UTF-8", line);
        Assert.Contains("offset 28", line);
    }

    [Fact]
    public async Task RawLatin1OrBig5BytesAreRejectedNotGuessed()
    {
        // "綠" in Big5 is 0xBA 0xF1: not UTF-8.
        var run = await Run(Bytes("ItemName=", new byte[] { 0xBA, 0xF1 }), null, "mac", "compute", "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("not valid UTF-8", run.Stderr);
    }

    [Theory]
    [InlineData("ItemName=%FF")]
    [InlineData("ItemName=%E6%B8")]
    [InlineData("ItemName=%C0%AF")]
    [InlineData("ItemName=%ED%A0%80")]
    public async Task PercentEncodedInvalidUtf8IsExitCodeTwo(string body)
    {
        var run = await Run(body, "mac", "compute", "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Contains("not valid UTF-8", Assert.Single(run.Stderr.TrimEnd('\n').Split('\n')));
    }

    [Fact]
    public async Task ALeadingUtf8BomIsIgnored()
    {
        var bom = new byte[] { 0xEF, 0xBB, 0xBF };
        var computed = await Run(Bytes(bom, Body + "\n"), null, "mac", "compute", "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(0, computed.ExitCode);
        Assert.Equal(Mac, LastLine(computed.Stdout));
        var verified = await Run(Bytes(bom, $"{Body}&CheckMacValue={Mac}"), null, "mac", "verify", "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(0, verified.ExitCode);
    }

    [Fact]
    public async Task NonAsciiOnStdinIsReadAsUtf8WhateverTheLocale()
    {
        const string body = "ItemName=測試商品&TradeDesc=促銷方案";
        var expected = CheckMacValue.Compute(EcpayForm.Parse(body), Key, Iv);
        var run = await Run(Encoding.UTF8.GetBytes(body), new Dictionary<string, string?> { ["LANG"] = "C", ["LC_ALL"] = "C", ["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1" }, "mac", "compute", "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(expected, LastLine(run.Stdout));
    }

    [Theory]
    [MemberData(nameof(CheckMacValueVectorTests.AllVectorNames), MemberType = typeof(CheckMacValueVectorTests))]
    public async Task ComputeReproducesEveryPublishedVectorAsAProcess(string name)
    {
        var v = CheckMacValueVectorTests.Load().Single(x => x.Name == name);
        string[] args = ["mac", "compute", .. (v.Algorithm == MacAlgorithm.Md5 ? ["--md5"] : Array.Empty<string>()), "--hash-key", v.HashKey, "--hash-iv", v.HashIv];
        var run = await Run(EcpayForm.ToFormBody(v.Params), args);
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(v.Expected, LastLine(run.Stdout));

        string[] verifyArgs = ["mac", "verify", .. args[2..]];
        var verify = await Run(EcpayForm.ToFormBody(v.Params.Append(new("CheckMacValue", v.Expected))), verifyArgs);
        Assert.Equal(0, verify.ExitCode);
    }

    [Fact]
    public async Task VerifyOfThePublishedPercent20VariantSaysTheSenderEncodesSpacesAsPercent20()
    {
        var v = CheckMacValueVectorTests.Load().Single(x => x.WrongWithPercent20 is not null);
        var run = await Run(EcpayForm.ToFormBody(v.Params.Append(new("CheckMacValue", v.WrongWithPercent20!))), "mac", "verify", "--hash-key", v.HashKey, "--hash-iv", v.HashIv);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("hint: it matches if the sender encodes spaces as %20", run.Stdout);
    }

    // An independent model of the usual wrong implementations, to produce the MACs a broken sender would send.
    private static string WrongMac(string body, Func<IEnumerable<KeyValuePair<string, string>>, IEnumerable<KeyValuePair<string, string>>> order,
        Func<string, string>? afterEncoding = null, string key = Key, string iv = Iv, bool lowerCase = true, bool md5 = false)
    {
        var fields = order(EcpayForm.Parse(body).Where(f => f.Key != "CheckMacValue"));
        var raw = $"HashKey={key}&{string.Join('&', fields.Select(f => f.Key + "=" + f.Value))}&HashIV={iv}";
        var encoded = WebUtility.UrlEncode(raw);
        encoded = lowerCase ? encoded.ToLowerInvariant() : encoded;
        encoded = afterEncoding?.Invoke(encoded) ?? encoded;
        var bytes = Encoding.ASCII.GetBytes(encoded);
        return Convert.ToHexString(md5 ? MD5.HashData(bytes) : SHA256.HashData(bytes));
    }

    private static IEnumerable<KeyValuePair<string, string>> EcpayOrder(IEnumerable<KeyValuePair<string, string>> f) => f.OrderBy(x => x.Key.ToLowerInvariant(), StringComparer.Ordinal);

    // Spaces, a '~', an empty value, a lower-case key and keys that sort differently under each wrong comparer.
    private const string HintBody = "MerchantID=3002607&ItemName=My+Test+Product+~1&TotalAmount=300&CustomField1=&a_b=1&aB=2&zeta=3";

    public static TheoryData<string, string, string> WrongImplementationCases() => new()
    {
        { "space %20", WrongMac(HintBody, EcpayOrder, e => e.Replace("+", "%20")), "encodes spaces as %20" },
        { "tilde", WrongMac(HintBody, EcpayOrder, e => e.Replace("%7e", "~")), "leaves '~' unencoded" },
        { "RFC 3986", WrongMac(HintBody, EcpayOrder, e => e.Replace("+", "%20").Replace("%7e", "~")), "encodes spaces as %20 and leaves '~' unencoded" },
        { "ordinal sort", WrongMac(HintBody, f => f.OrderBy(x => x.Key, StringComparer.Ordinal)), "sorted ordinally without lower-casing" },
        { "OrdinalIgnoreCase sort", WrongMac(HintBody, f => f.OrderBy(x => x.Key, StringComparer.OrdinalIgnoreCase)), "sorted case-insensitively by upper-casing" },
        { "empty dropped", WrongMac(HintBody, f => EcpayOrder(f.Where(x => x.Value.Length > 0))), "empty fields are dropped" },
        { "key/IV swapped", WrongMac(HintBody, EcpayOrder, key: Iv, iv: Key), "HashKey and HashIV swapped" },
        { "not lower-cased", WrongMac(HintBody, EcpayOrder, lowerCase: false), "not lower-cased before hashing" },
        { "MD5", WrongMac(HintBody, EcpayOrder, md5: true), "the sender used MD5 instead of SHA256" },
    };

    [Theory]
    [MemberData(nameof(WrongImplementationCases))]
    public async Task VerifyNamesTheWrongImplementationThatProducedTheReceivedMac(string name, string wrongMac, string hint)
    {
        var run = await Run($"{HintBody}&CheckMacValue={wrongMac}", "mac", "verify", "--hash-key", Key, "--hash-iv", Iv);
        Assert.True(run.ExitCode == 1, $"{name}: {run.Stdout}{run.Stderr}");
        var hints = run.Stdout.Split('\n').Where(l => l.StartsWith("hint: it matches", StringComparison.Ordinal)).ToList();
        Assert.True(hints.Count == 1 && hints[0].Contains(hint, StringComparison.Ordinal), $"{name}: expected one matching hint containing '{hint}', got:\n{run.Stdout}");
    }

    [Fact]
    public async Task VerifySaysWhenTheSenderUsedTheStageKeys()
    {
        const string key = "ejCk326UnaZWKisg", iv = "q9jcZX8Ib9LM8wYk";
        var run = await Run($"{Body}&CheckMacValue={Mac}", "mac", "verify", "--hash-key", key, "--hash-iv", iv);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("hint: it matches with ECPay's public stage keys", run.Stdout);
    }

    [Fact]
    public async Task AMismatchNoWrongImplementationExplainsGetsNoMatchingHint()
    {
        var run = await Run($"{Body}&CheckMacValue={new string('A', 64)}", "mac", "verify", "--hash-key", Key, "--hash-iv", Iv);
        Assert.Equal(1, run.ExitCode);
        Assert.DoesNotContain("hint: it matches", run.Stdout);
    }

    [Fact]
    public async Task HelpDescribesTheCommands()
    {
        var run = await Run("", "mac", "--help");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("ECPAY_HASH_KEY", run.Stdout);
    }
}
