namespace EcpayEvents.Ecpay.Tests;

public sealed class CheckMacValueTests
{
    private static readonly EcpayCredentials Stage = EcpayCredentials.Stage;

    private static List<KeyValuePair<string, string>> Fields(params (string Key, string Value)[] fields)
        => fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)).ToList();

    [Fact]
    public void SortsKeysByLowerCasedOrdinalSoRedDanComesBeforeRedeem()
    {
        var raw = CheckMacValue.Explain(Fields(("Redeem", "Y"), ("red_dan", "1")), "k", "v").Raw;
        Assert.Equal("HashKey=k&red_dan=1&Redeem=Y&HashIV=v", raw);
    }

    [Fact]
    public void SkipsTheCheckMacValueFieldAndSaysSo()
    {
        var with = CheckMacValue.Explain(Fields(("A", "1"), ("CheckMacValue", "XYZ")), "k", "v");
        var without = CheckMacValue.Explain(Fields(("A", "1")), "k", "v");
        Assert.Equal(without.Value, with.Value);
        Assert.True(with.IgnoredCheckMacValue);
        Assert.False(without.IgnoredCheckMacValue);
    }

    [Fact]
    public void IncludesEmptyAndUnknownFields()
    {
        var baseline = CheckMacValue.Compute(Fields(("A", "1")), "k", "v");
        Assert.NotEqual(baseline, CheckMacValue.Compute(Fields(("A", "1"), ("CustomField1", "")), "k", "v"));
        Assert.NotEqual(baseline, CheckMacValue.Compute(Fields(("A", "1"), ("SomethingNew", "x")), "k", "v"));
    }

    [Fact]
    public void EncodesLikeWebUtilityUrlEncodeThenLowerCases()
    {
        var encoded = CheckMacValue.Explain(Fields(("A", "a b~'-_.!*()綠")), "K", "V").Encoded;
        Assert.Equal("hashkey%3dk%26a%3da+b%7e%27-_.!*()%e7%b6%a0%26hashiv%3dv", encoded);
    }

    [Fact]
    public void VerifyAcceptsALowerCaseHexMac()
    {
        var fields = Fields(("A", "1"));
        fields.Add(new("CheckMacValue", CheckMacValue.Compute(fields, Stage.HashKey, Stage.HashIv).ToLowerInvariant()));
        Assert.True(CheckMacValue.Verify(fields, Stage.HashKey, Stage.HashIv));
    }

    [Fact]
    public void VerifyRejectsATamperedValue()
    {
        var fields = Fields(("TradeAmt", "100"));
        fields.Add(new("CheckMacValue", CheckMacValue.Compute(fields, Stage.HashKey, Stage.HashIv)));
        fields[0] = new("TradeAmt", "1000");
        Assert.False(CheckMacValue.Verify(fields, Stage.HashKey, Stage.HashIv));
    }

    [Fact]
    public void VerifyIsFalseWhenThereIsNoCheckMacValue()
        => Assert.False(CheckMacValue.Verify(Fields(("A", "1")), Stage.HashKey, Stage.HashIv));

    [Fact]
    public void VerifyIsFalseWhenTheMacIsEmpty()
        => Assert.False(CheckMacValue.Verify(Fields(("A", "1"), ("CheckMacValue", "")), Stage.HashKey, Stage.HashIv));

    [Fact]
    public void VerifyUsesTheRequestedAlgorithm()
    {
        var fields = Fields(("A", "1"));
        fields.Add(new("CheckMacValue", CheckMacValue.Compute(fields, "k", "v", MacAlgorithm.Md5)));
        Assert.True(CheckMacValue.Verify(fields, "k", "v", MacAlgorithm.Md5));
        Assert.False(CheckMacValue.Verify(fields, "k", "v"));
        Assert.Equal(32, fields[^1].Value.Length);
    }

    [Fact]
    public void CredentialsNeverPrintTheHashKeyOrHashIv()
    {
        var text = EcpayCredentials.Stage.ToString();
        Assert.Contains("3002607", text);
        Assert.DoesNotContain(EcpayCredentials.Stage.HashKey, text);
        Assert.DoesNotContain(EcpayCredentials.Stage.HashIv, text);
        Assert.DoesNotContain(EcpayCredentials.Stage.HashKey, $"{new { Credentials = EcpayCredentials.Stage }}");
    }
}
