using System.Text.Json;

namespace EcpayEvents.Ecpay.Tests;

public sealed class CheckMacValueVectorTests
{
    public sealed record Vector(string Name, MacAlgorithm Algorithm, string HashKey, string HashIv, IReadOnlyList<KeyValuePair<string, string>> Params, string Expected, string? WrongWithPercent20)
    {
        public override string ToString() => Name;
    }

    public static IReadOnlyList<Vector> Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Vectors", "checkmacvalue-vectors.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var result = new List<Vector>();
        foreach (var v in doc.RootElement.GetProperty("vectors").EnumerateArray())
        {
            var fields = v.GetProperty("params").EnumerateObject().Select(p => new KeyValuePair<string, string>(p.Name, p.Value.GetString()!)).ToList();
            result.Add(new Vector(
                v.GetProperty("name").GetString()!,
                v.GetProperty("method").GetString() == "MD5" ? MacAlgorithm.Md5 : MacAlgorithm.Sha256,
                v.GetProperty("hashKey").GetString()!,
                v.GetProperty("hashIV").GetString()!,
                fields,
                v.GetProperty("expected").GetString()!,
                v.TryGetProperty("wrongWithPercent20", out var w) ? w.GetString() : null));
        }
        return result;
    }

    public static TheoryData<string> AllVectorNames() => new(Load().Select(v => v.Name));

    private static Vector Named(string name) => Load().Single(v => v.Name == name);

    [Theory]
    [MemberData(nameof(AllVectorNames))]
    public void ComputeReproducesEveryPublishedVector(string name)
    {
        var v = Named(name);
        Assert.Equal(v.Expected, CheckMacValue.Compute(v.Params, v.HashKey, v.HashIv, v.Algorithm));
    }

    [Theory]
    [MemberData(nameof(AllVectorNames))]
    public void VerifyAcceptsEveryPublishedVectorWithItsMac(string name)
    {
        var v = Named(name);
        var posted = v.Params.Append(new("CheckMacValue", v.Expected)).ToList();
        Assert.True(CheckMacValue.Verify(posted, v.HashKey, v.HashIv, v.Algorithm));
    }

    [Theory]
    [MemberData(nameof(AllVectorNames))]
    public void ComputeDoesNotDependOnTheOrderTheFieldsArriveIn(string name)
    {
        var v = Named(name);
        var reversed = v.Params.Reverse().ToList();
        Assert.Equal(v.Expected, CheckMacValue.Compute(reversed, v.HashKey, v.HashIv, v.Algorithm));
    }

    [Fact]
    public void ThePercent20VariantOfTheSpacesVectorIsWhatEncodingSpacesAsPercent20WouldGive()
    {
        var v = Load().Single(x => x.WrongWithPercent20 is not null);
        var explained = CheckMacValue.Explain(v.Params, v.HashKey, v.HashIv);
        Assert.Contains("my+test+product", explained.Encoded);
        var with20 = explained.Encoded.Replace("+", "%20");
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(with20)));
        Assert.Equal(v.WrongWithPercent20, hash);
        Assert.NotEqual(v.WrongWithPercent20, CheckMacValue.Compute(v.Params, v.HashKey, v.HashIv));
    }
}
