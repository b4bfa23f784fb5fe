using System.Text.Json;
using System.Xml.Linq;
using EcpayEvents.Sandbox.Protocol;

namespace EcpayEvents.Sandbox.Tests;

/// <summary>
/// The sandbox is ECPay's side: it must not share code with what it tests, or a mistake in the product's
/// CheckMacValue or form rules would hide in both. Its own MAC is held to ECPay's published vectors (here) and
/// to ECPay's official Node SDK (Ecpay.Tests' differential test runs every case through both implementations).
/// </summary>
public sealed class IndependenceTests
{
    private static string SandboxDirectory => Path.Combine(EcpayEvents.Testing.RepoPaths.Root, "infrastructure", "EcpayEvents.Sandbox");

    [Fact]
    public void TheSandboxProjectReferencesNoProject()
    {
        var project = XDocument.Load(Path.Combine(SandboxDirectory, "EcpayEvents.Sandbox.csproj"));
        Assert.Empty(project.Descendants("ProjectReference"));
    }

    [Fact]
    public void NoSandboxSourceUsesAProductNamespace()
    {
        var offending = Directory.EnumerateFiles(SandboxDirectory, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Where(f => System.Text.RegularExpressions.Regex.IsMatch(File.ReadAllText(f), @"EcpayEvents\.(Ecpay|Payments|Hosting|Messaging|Notifications|Settlement|Timeouts|PaymentsApi)\b"))
            .ToList();
        Assert.Empty(offending);
    }

    public static TheoryData<string> VectorNames() => new(Vectors().Select(v => v.GetProperty("name").GetString()!));

    private static List<JsonElement> Vectors()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "checkmacvalue-vectors.json")));
        return doc.RootElement.GetProperty("vectors").EnumerateArray().Select(v => v.Clone()).ToList();
    }

    [Theory]
    [MemberData(nameof(VectorNames))]
    public void TheSandboxsOwnMacReproducesEveryPublishedVector(string name)
    {
        var v = Vectors().Single(x => x.GetProperty("name").GetString() == name);
        var fields = v.GetProperty("params").EnumerateObject().Select(p => new KeyValuePair<string, string>(p.Name, p.Value.GetString()!)).ToList();
        var md5 = v.GetProperty("method").GetString() == "MD5";
        var expected = v.GetProperty("expected").GetString()!;
        Assert.Equal(expected, SandboxMac.Compute(fields, v.GetProperty("hashKey").GetString()!, v.GetProperty("hashIV").GetString()!, md5));
        if (!md5)
            Assert.True(SandboxMac.Verify([.. fields, new("CheckMacValue", expected)], v.GetProperty("hashKey").GetString()!, v.GetProperty("hashIV").GetString()!));
    }

    // ECPay's table (".NET編碼(ecpay)"): these stay, a space is '+', '~' and '\'' and everything else is %XX.
    [Theory]
    [InlineData("a-_.!*()Z9", "a-_.!*()Z9")]
    [InlineData("a b", "a+b")]
    [InlineData("~'@/:", "%7E%27%40%2F%3A")]
    [InlineData("促", "%E4%BF%83")]
    public void TheSandboxEncodesTheDotNetWay(string text, string encoded) => Assert.Equal(encoded, EcpayUrlEncoding.Encode(text));
}
