namespace EcpayEvents.Ecpay.Tests;

/// <summary>`ecpay-events mac …` run as a real process from the built output.</summary>
public sealed class MacCliTests
{
    private const string Key = "pwFHCqoQZGmho4w6";
    private const string Iv = "EkRm7iFT261dpevs";
    private const string Body = "MerchantID=3002607&ItemName=My+Test+Product&TotalAmount=300";
    private const string Mac = "7712A5E6EDC3B57086063C88568084C66CE882A21D40E74DE5ACA3B478C6F316";

    private static string CliDll()
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
    {
        var environment = new Dictionary<string, string?> { ["ECPAY_HASH_KEY"] = null, ["ECPAY_HASH_IV"] = null };
        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
        {
            environment[k] = v;
        }
        return RepoRoot.RunAsync("dotnet", [CliDll(), .. args], stdin, environment, TimeSpan.FromMinutes(1));
    }

    private static string LastLine(string output) => output.TrimEnd('\n').Split('\n')[^1];

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

    [Fact]
    public async Task AnUnknownOptionIsExitCodeTwo()
        => Assert.Equal(2, (await Run(Body, "mac", "compute", "--sha1", "--hash-key", Key, "--hash-iv", Iv)).ExitCode);

    [Fact]
    public async Task HelpDescribesTheCommands()
    {
        var run = await Run("", "mac", "--help");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("ECPAY_HASH_KEY", run.Stdout);
    }
}
