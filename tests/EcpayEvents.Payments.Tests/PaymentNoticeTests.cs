using EcpayEvents.Ecpay;
using EcpayEvents.Payments.Settlement;

namespace EcpayEvents.Payments.Tests;

public sealed class PaymentNoticeTests
{
    private static Dictionary<string, string> ReturnUrl(string rtnCode = "1", string simulatePaid = "0") => new()
    {
        ["MerchantID"] = "3002607", ["MerchantTradeNo"] = "T1", ["StoreID"] = "", ["RtnCode"] = rtnCode, ["RtnMsg"] = "交易成功",
        ["TradeNo"] = "2611250000000001", ["TradeAmt"] = "500", ["PaymentDate"] = "2026/11/25 12:00:00", ["PaymentType"] = "Credit_CreditCard",
        ["PaymentTypeChargeFee"] = "10", ["TradeDate"] = "2026/11/25 11:59:00", ["SimulatePaid"] = simulatePaid, ["CheckMacValue"] = new string('A', 64),
    };

    [Fact]
    public void AReturnUrlWithRtnCode1IsPaid()
    {
        Assert.True(PaymentNotice.TryParse(PaymentResultSource.ReturnUrl, ReturnUrl(), out var n, out _));
        Assert.Equal(NoticeKind.Paid, n.Kind);
        Assert.Equal(500, n.TradeAmt);
        Assert.Equal(new DateTimeOffset(2026, 11, 25, 4, 0, 0, TimeSpan.Zero), n.PaymentDate);
        Assert.False(n.SimulatePaid);
    }

    [Fact]
    public void AReturnUrlWithAnyOtherRtnCodeIsNotPaid()
    {
        Assert.True(PaymentNotice.TryParse(PaymentResultSource.ReturnUrl, ReturnUrl("10100058"), out var n, out _));
        Assert.Equal(NoticeKind.NotPaid, n.Kind);
        Assert.Equal(10100058, n.Code);
    }

    [Fact]
    public void SimulatePaidIsRead()
    {
        Assert.True(PaymentNotice.TryParse(PaymentResultSource.ReturnUrl, ReturnUrl(simulatePaid: "1"), out var n, out _));
        Assert.True(n.SimulatePaid);
    }

    [Fact]
    public void AnAtmPaymentInfoCarriesTheVirtualAccountAndExpiry()
    {
        var fields = new Dictionary<string, string>
        {
            ["MerchantID"] = "3002607", ["MerchantTradeNo"] = "T1", ["RtnCode"] = "2", ["RtnMsg"] = "Get VirtualAccount Succeeded",
            ["TradeNo"] = "2611250000000001", ["TradeAmt"] = "500", ["PaymentType"] = "ATM_TAISHIN", ["TradeDate"] = "2026/11/25 11:59:00",
            ["BankCode"] = "812", ["vAccount"] = "9103522175887271", ["ExpireDate"] = "2026/11/28",
        };
        Assert.True(PaymentNotice.TryParse(PaymentResultSource.PaymentInfoUrl, fields, out var n, out var error), error);
        Assert.Equal(NoticeKind.NumberIssued, n.Kind);
        Assert.Equal("9103522175887271", n.Issued!.VAccount);
        Assert.Equal(TaiwanTime.Parse("2026/11/28 23:59:59"), n.Issued.ExpireDate);
    }

    [Fact]
    public void AFailedPaymentInfoIsAnIssueFailure()
    {
        var fields = new Dictionary<string, string>
        {
            ["MerchantID"] = "3002607", ["MerchantTradeNo"] = "T1", ["RtnCode"] = "10100050", ["RtnMsg"] = "failed",
            ["TradeNo"] = "2611250000000001", ["TradeAmt"] = "500", ["PaymentType"] = "ATM_TAISHIN",
            ["BankCode"] = "", ["vAccount"] = "", ["ExpireDate"] = "",
        };
        Assert.True(PaymentNotice.TryParse(PaymentResultSource.PaymentInfoUrl, fields, out var n, out var error), error);
        Assert.Equal(NoticeKind.IssueFailed, n.Kind);
        Assert.Null(n.Issued);
    }

    [Theory]
    [InlineData("1", NoticeKind.Paid)]
    [InlineData("0", NoticeKind.NotYetPaid)]
    [InlineData("10200095", NoticeKind.NotPaid)]
    [InlineData("10200047", NoticeKind.NotYetPaid)]
    [InlineData("12345", NoticeKind.NotYetPaid)]
    public void AQueryTradeInfoAnswerMapsTradeStatus(string tradeStatus, NoticeKind expected)
    {
        var fields = new Dictionary<string, string>
        {
            ["MerchantID"] = "3002607", ["MerchantTradeNo"] = "T1", ["TradeNo"] = "2611250000000001", ["TradeAmt"] = "500",
            ["PaymentDate"] = tradeStatus == "1" ? "2026/11/25 12:00:00" : "", ["PaymentType"] = "Credit_CreditCard", ["TradeStatus"] = tradeStatus,
            ["HandlingCharge"] = "0", ["ItemName"] = "points",
        };
        Assert.True(PaymentNotice.TryParse(PaymentResultSource.QueryTradeInfo, fields, out var n, out var error), error);
        Assert.Equal(expected, n.Kind);
        Assert.False(n.SimulatePaid);
        Assert.Equal(int.Parse(tradeStatus), n.Code);
    }

    [Fact]
    public void APaidQueryTradeInfoAnswerWithoutAnAmountDoesNotParse()
    {
        var fields = new Dictionary<string, string> { ["MerchantID"] = "3002607", ["MerchantTradeNo"] = "T1", ["TradeNo"] = "1", ["TradeStatus"] = "1" };
        Assert.False(PaymentNotice.TryParse(PaymentResultSource.QueryTradeInfo, fields, out _, out var error));
        Assert.Contains("TradeAmt", error);
    }

    [Theory]
    [InlineData("RtnCode", "x")]
    [InlineData("TradeAmt", "12.5")]
    [InlineData("SimulatePaid", "2")]
    [InlineData("TradeNo", "123456789012345678901")]
    public void MalformedFieldsDoNotParse(string field, string value)
    {
        var fields = ReturnUrl();
        fields[field] = value;
        Assert.False(PaymentNotice.TryParse(PaymentResultSource.ReturnUrl, fields, out _, out var error));
        Assert.Contains(field, error);
    }

    [Theory]
    [InlineData("TradeDate", "2026/11/25 11:59")]
    [InlineData("CustomField1", "anything at all")]
    public void FieldsTheRulesDoNotUseAreReadLeniently(string field, string value)
    {
        var fields = ReturnUrl();
        fields[field] = value;
        Assert.True(PaymentNotice.TryParse(PaymentResultSource.ReturnUrl, fields, out var n, out var error), error);
        Assert.Equal(NoticeKind.Paid, n.Kind);
        Assert.Equal(500, n.TradeAmt);
    }

    // Whatever the rules read, a value ECPay would not send is refused (EcpayPostFields): the payment's timeout asks ECPay.
    [Theory]
    [InlineData("TradeDate", "yesterday")]
    [InlineData("PaymentTypeChargeFee", "1,000")]
    [InlineData("PaymentTypeChargeFee", "N/A")]
    [InlineData("PaymentDate", "25.11.2026 noon")]
    [InlineData("PaymentType", "PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP")]
    [InlineData("RtnMsg", "ok&RtnCode=1")]
    [InlineData("ItemName", "points")]
    public void AValueOrFieldEcpayDoesNotSendDoesNotParse(string field, string value)
    {
        var fields = ReturnUrl();
        fields[field] = value;
        Assert.False(PaymentNotice.TryParse(PaymentResultSource.ReturnUrl, fields, out _, out var error));
        Assert.Contains(field, error);
    }

    [Theory]
    [InlineData("2026/11/25 12:00", "2026-11-25T04:00:00Z")]
    [InlineData("2026/11/25 12:00:07", "2026-11-25T04:00:07Z")]
    [InlineData("2026-11-25 12:00:07", "2026-11-25T04:00:07Z")]
    [InlineData("2026/1/5 9:03:07", "2026-01-05T01:03:07Z")]
    public void PaymentDateIsReadInItsCommonShapes(string paymentDate, string expectedUtc)
    {
        var fields = ReturnUrl();
        fields["PaymentDate"] = paymentDate;
        Assert.True(PaymentNotice.TryParse(PaymentResultSource.ReturnUrl, fields, out var n, out var error), error);
        Assert.Equal(DateTimeOffset.Parse(expectedUtc, System.Globalization.CultureInfo.InvariantCulture), n.PaymentDate);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("10100073")]
    public void ANumberIssuedBodyPostedToReturnUrlIsAWrongEndpoint(string rtnCode)
    {
        var fields = new Dictionary<string, string>
        {
            ["MerchantID"] = "3002607", ["MerchantTradeNo"] = "T1", ["RtnCode"] = rtnCode, ["RtnMsg"] = "Get VirtualAccount Succeeded",
            ["TradeNo"] = "2611250000000001", ["TradeAmt"] = "500", ["PaymentType"] = "ATM_TAISHIN",
            ["BankCode"] = "812", ["vAccount"] = "9103522175887271", ["ExpireDate"] = "2026/11/28",
        };
        Assert.True(PaymentNotice.TryParse(PaymentResultSource.ReturnUrl, fields, out var n, out var error), error);
        Assert.Equal(NoticeKind.WrongEndpoint, n.Kind);
        Assert.Equal(int.Parse(rtnCode), n.Code);
    }

    [Fact]
    public void APaidBodyPostedToPaymentInfoUrlIsAWrongEndpointNotAnIssueFailure()
    {
        Assert.True(PaymentNotice.TryParse(PaymentResultSource.PaymentInfoUrl, ReturnUrl(), out var n, out var error), error);
        Assert.Equal(NoticeKind.WrongEndpoint, n.Kind);
        Assert.Equal(1, n.Code);
    }

    [Fact]
    public void ABarcodePaymentInfoCarriesTheBarcodes()
    {
        var fields = new Dictionary<string, string>
        {
            ["MerchantID"] = "3002607", ["MerchantTradeNo"] = "T1", ["RtnCode"] = "10100073", ["RtnMsg"] = "Get Barcode Succeeded.",
            ["TradeNo"] = "2611250000000001", ["TradeAmt"] = "500", ["PaymentType"] = "BARCODE_BARCODE", ["TradeDate"] = "2026/11/25 11:59:00",
            ["PaymentNo"] = "", ["ExpireDate"] = "2026/12/02", ["Barcode1"] = "261202617", ["Barcode2"] = "1234567890123456", ["Barcode3"] = "120100000000500",
        };
        Assert.True(PaymentNotice.TryParse(PaymentResultSource.PaymentInfoUrl, fields, out var n, out var error), error);
        Assert.Equal(NoticeKind.NumberIssued, n.Kind);
        Assert.Equal(("", "261202617", "1234567890123456", "120100000000500"), (n.Issued!.PaymentNo, n.Issued.Barcode1, n.Issued.Barcode2, n.Issued.Barcode3));
        Assert.Equal(TaiwanTime.Parse("2026/12/02 23:59:59"), n.Issued.ExpireDate);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("500.00")]
    [InlineData("")]
    public void APaymentInfoWithANonNumericTradeAmtDoesNotParse(string tradeAmt)
    {
        var fields = new Dictionary<string, string>
        {
            ["MerchantID"] = "3002607", ["MerchantTradeNo"] = "T1", ["RtnCode"] = "2", ["RtnMsg"] = "Get VirtualAccount Succeeded",
            ["TradeNo"] = "2611250000000001", ["TradeAmt"] = tradeAmt, ["PaymentType"] = "ATM_TAISHIN",
            ["BankCode"] = "812", ["vAccount"] = "9103522175887271", ["ExpireDate"] = "2026/11/28",
        };
        Assert.False(PaymentNotice.TryParse(PaymentResultSource.PaymentInfoUrl, fields, out _, out var error));
        Assert.Contains("TradeAmt", error);
    }

    [Fact]
    public void AnUnknownSourceDoesNotParse()
    {
        Assert.False(PaymentNotice.TryParse("OrderResultURL", ReturnUrl(), out _, out var error));
        Assert.Contains("unknown source", error);
    }
}
