using EcpayEvents.Payments.Settlement;

namespace EcpayEvents.Payments.Tests;

public sealed class DedupKeyTests
{
    private static Dictionary<string, string> Paid() => new()
    {
        ["MerchantID"] = "3002607", ["MerchantTradeNo"] = "T1", ["RtnCode"] = "1", ["RtnMsg"] = "交易成功", ["TradeNo"] = "2611250000000001",
        ["TradeAmt"] = "500", ["PaymentDate"] = "2026/11/25 12:00:00", ["PaymentType"] = "Credit_CreditCard", ["SimulatePaid"] = "0", ["CheckMacValue"] = "AAAA",
    };

    [Fact]
    public void AReSendWithAnotherRtnMsgAndMacHasTheSameKey()
    {
        var resend = Paid();
        resend["RtnMsg"] = "paid";
        resend["CheckMacValue"] = "BBBB";
        resend["PaymentTypeChargeFee"] = "10";
        Assert.Equal(DedupKey.Compute(PaymentResultSource.ReturnUrl, Paid(), true), DedupKey.Compute(PaymentResultSource.ReturnUrl, resend, true));
    }

    [Theory]
    [InlineData("RtnCode", "10100058")]
    [InlineData("TradeAmt", "501")]
    [InlineData("TradeNo", "2611250000000002")]
    [InlineData("SimulatePaid", "1")]
    [InlineData("MerchantTradeNo", "T2")]
    [InlineData("PaymentDate", "2026/11/25 12:00:01")]
    public void ADifferentResultHasADifferentKey(string field, string value)
    {
        var other = Paid();
        other[field] = value;
        Assert.NotEqual(DedupKey.Compute(PaymentResultSource.ReturnUrl, Paid(), true), DedupKey.Compute(PaymentResultSource.ReturnUrl, other, true));
    }

    // ECPay's MAC is over a lower-cased string: a copy with other letter case verifies and must not be a new result.
    [Fact]
    public void ACopyWithOtherLetterCaseHasTheSameKey()
    {
        var recased = Paid();
        recased["MerchantTradeNo"] = "t1";
        recased["PaymentType"] = "credit_CREDITCARD";
        Assert.Equal(DedupKey.Compute(PaymentResultSource.ReturnUrl, Paid(), true), DedupKey.Compute(PaymentResultSource.ReturnUrl, recased, true));
    }

    [Fact]
    public void TheSourceIsPartOfTheKey() =>
        Assert.NotEqual(DedupKey.Compute(PaymentResultSource.ReturnUrl, Paid(), true), DedupKey.Compute(PaymentResultSource.QueryTradeInfo, Paid(), true));

    [Fact]
    public void AnUnverifiedMessageNeverTakesTheKeyOfTheGenuineOne()
    {
        var key = DedupKey.Compute(PaymentResultSource.ReturnUrl, Paid(), true);
        Assert.NotEqual(key, DedupKey.Compute(PaymentResultSource.ReturnUrl, Paid(), false));
        var forged = Paid();
        forged["CheckMacValue"] = "CCCC";
        Assert.NotEqual(DedupKey.Compute(PaymentResultSource.ReturnUrl, Paid(), false), DedupKey.Compute(PaymentResultSource.ReturnUrl, forged, false));
    }

    [Fact]
    public void AnAbsentFieldDiffersFromAnEmptyOne()
    {
        var empty = Paid();
        empty["PaymentType"] = "";
        var absent = Paid();
        absent.Remove("PaymentType");
        Assert.NotEqual(DedupKey.Compute(PaymentResultSource.ReturnUrl, empty, true), DedupKey.Compute(PaymentResultSource.ReturnUrl, absent, true));
    }

    [Fact]
    public void IsLowerCaseHexSha256() => Assert.Matches("^[0-9a-f]{64}$", DedupKey.Compute(PaymentResultSource.ReturnUrl, Paid(), true));
}
