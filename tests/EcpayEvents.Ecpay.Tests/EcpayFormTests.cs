namespace EcpayEvents.Ecpay.Tests;

public sealed class EcpayFormTests
{
    [Fact]
    public void KeepsFieldsInPostedOrderAndLooksThemUpByExactKey()
    {
        var form = EcpayForm.Parse("b=2&A=1&a=3");
        Assert.Equal(["b", "A", "a"], form.Select(f => f.Key));
        Assert.Equal("1", form["A"]);
        Assert.Equal("3", form["a"]);
        Assert.Null(form["B"]);
    }

    [Fact]
    public void DecodesPlusAsSpaceAndPercentEscapesAsUtf8()
        => Assert.Equal("促銷 方案+", EcpayForm.Parse("TradeDesc=%E4%BF%83%E9%8A%B7+%e6%96%b9%e6%a1%88%2B")["TradeDesc"]);

    [Fact]
    public void KeepsEmptyValues()
        => Assert.Equal("", EcpayForm.Parse("CustomField1=&A=1")["CustomField1"]);

    [Fact]
    public void AcceptsAnEmptyBodyAsNoFields()
        => Assert.Empty(EcpayForm.Parse(""));

    [Theory]
    [InlineData("a=%4", EcpayFormError.BadPercentEncoding)]
    [InlineData("a=%zz", EcpayFormError.BadPercentEncoding)]
    [InlineData("a=100%", EcpayFormError.BadPercentEncoding)]
    [InlineData("a%=1", EcpayFormError.BadPercentEncoding)]
    [InlineData("a=%E7%B6", EcpayFormError.InvalidUtf8)]
    [InlineData("a=%FF", EcpayFormError.InvalidUtf8)]
    [InlineData("a=%C0%AF", EcpayFormError.InvalidUtf8)]
    [InlineData("a=1&a=2", EcpayFormError.DuplicateKey)]
    [InlineData("a=1&%61=2", EcpayFormError.DuplicateKey)]
    [InlineData("=1", EcpayFormError.EmptyKey)]
    [InlineData("a=1&&b=2", EcpayFormError.EmptyKey)]
    [InlineData("a=1&", EcpayFormError.EmptyKey)]
    [InlineData("a=1&b", EcpayFormError.MissingEquals)]
    public void RejectsMalformedBodiesWithASpecificReason(string body, EcpayFormError reason)
    {
        var e = Assert.Throws<EcpayFormException>(() => EcpayForm.Parse(body));
        Assert.Equal(reason, e.Reason);
        Assert.False(EcpayForm.TryParse(body, out _, out var error));
        Assert.Equal(e.Message, error);
    }

    [Fact]
    public void RejectsALoneSurrogateInTheBody()
        => Assert.Equal(EcpayFormError.InvalidUtf8, Assert.Throws<EcpayFormException>(() => EcpayForm.Parse("a=x\uD800")).Reason);

    [Fact]
    public void ErrorsNameTheFieldWhoseValueIsBad()
        => Assert.Contains("'ItemName'", Assert.Throws<EcpayFormException>(() => EcpayForm.Parse("ItemName=%G1")).Message);

    [Fact]
    public void RoundTripsThroughToFormBody()
    {
        var form = EcpayForm.FromFields([new("ItemName", "A&B=C 綠界 %20"), new("x", "")]);
        var again = EcpayForm.Parse(form.ToFormBody());
        Assert.Equal(form.Fields, again.Fields);
    }

    [Fact]
    public void DecodesLongValuesWithEveryEscapeClassAndRawNonAsciiChars()
    {
        var value = string.Concat(Enumerable.Repeat("a b+&=%~'綠界😀é\u0001", 2_000)); // ~30,000 chars
        var body = "Long=" + System.Net.WebUtility.UrlEncode(value) + "&Raw=綠界+😀%2B&Plain=3002607&Empty=";
        var form = EcpayForm.Parse(body);
        Assert.Equal(["Long", "Raw", "Plain", "Empty"], form.Select(f => f.Key));
        Assert.Equal(value, form["Long"]);
        Assert.Equal("綠界 😀+", form["Raw"]);
        Assert.Equal("3002607", form["Plain"]);
        Assert.Equal("", form["Empty"]);
    }

    [Theory]
    [InlineData("a=1&b=%zz&c=3", "Value of 'b'")]
    [InlineData("a=1&bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "Field 2 ('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb…') has no '='.")]
    [InlineData("a=1&%zz=2", "Key of field 2 ('%zz')")]
    [InlineData("a=1&b=2&&", "Field 3 is empty (stray '&').")]
    public void ErrorsNameTheFieldByItsPositionInTheBody(string body, string expected)
        => Assert.Contains(expected, Assert.Throws<EcpayFormException>(() => EcpayForm.Parse(body)).Message);
}
