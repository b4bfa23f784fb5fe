using System.Reflection;

namespace EcpayEvents.Ecpay.Tests;

/// <summary>The one rule for signed values (<see cref="CheckMacValue.SeparatorProblem"/>) and what signs with it.</summary>
public sealed class SignedValuesTests
{
    private static readonly EcpayCredentials Stage = EcpayCredentials.Stage;

    [Theory]
    [InlineData("a&b", "'&' at position 1")]
    [InlineData("=", "'=' at position 0")]
    [InlineData("ok\r\n", "U+000D at position 2")]
    [InlineData("\0", "U+0000")]
    [InlineData("a\u0085", "U+0085")]
    [InlineData("\u007F", "U+007F")]
    public void SeparatorsAndControlCharactersAreNamedWithTheirPosition(string value, string expected)
        => Assert.Contains(expected, CheckMacValue.SeparatorProblem(value));

    [Theory]
    [InlineData("")]
    [InlineData("儲值 500 # bonus")]
    [InlineData("https://example.com/a/b?")]
    [InlineData("＆＝%26%3D+~!@$^*()")]
    public void EverythingElseMayBeSigned(string value) => Assert.Null(CheckMacValue.SeparatorProblem(value));

    [Fact]
    public void SignIsComputeForCleanFieldsAndRefusesASeparatorInAnyNameOrValue()
    {
        List<KeyValuePair<string, string>> fields = [new("MerchantID", "3002607"), new("ItemName", "points"), new("TotalAmount", "100")];
        Assert.Equal(CheckMacValue.Compute(fields, Stage.HashKey, Stage.HashIv), CheckMacValue.Sign(fields, Stage));

        var value = Assert.Throws<UnsignableFieldException>(() => CheckMacValue.Sign([.. fields, new("CustomField1", "a&RtnCode=1")], Stage));
        Assert.Equal("CustomField1", value.Field);
        Assert.DoesNotContain(Stage.HashKey, value.Message);
        Assert.Equal("Odd=Name", Assert.Throws<UnsignableFieldException>(() => CheckMacValue.Sign([.. fields, new("Odd=Name", "1")], Stage)).Field);
        Assert.Throws<UnsignableFieldException>(() => CheckMacValue.Sign([.. fields, new(CheckMacValue.FieldName, "AB")], Stage));
    }

    /// <summary>
    /// Every string property of <see cref="CheckoutRequest"/>, found by reflection so a property added later is
    /// covered too: given a value with a separator, the checkout form is refused (naming the field), never signed.
    /// </summary>
    [Fact]
    public void EveryStringPropertyOfACheckoutRequestRefusesASeparator()
    {
        var valid = new CheckoutRequest
        {
            MerchantTradeNo = "Dep20250101A",
            MerchantTradeDate = new DateTimeOffset(2025, 1, 1, 4, 0, 0, TimeSpan.Zero),
            TotalAmount = 500,
            TradeDesc = "儲值",
            ItemName = "儲值點數 500",
            ReturnUrl = "https://api.example.com/ecpay/return",
            ChoosePayment = ChoosePayment.All,
        };
        CheckoutForm.Create(valid, Stage, EcpayUrls.Stage);
        var properties = typeof(CheckoutRequest).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.PropertyType == typeof(string)).ToList();
        Assert.True(properties.Count >= 14, $"only {properties.Count} string properties found");
        foreach (var property in properties)
        {
            var value = property.Name.EndsWith("Url", StringComparison.Ordinal) ? "https://example.com/r?MerchantID=1&RtnCode=1" : "a&RtnCode=1&b=";
            var request = valid with { };
            property.SetValue(request, value);
            var e = Assert.ThrowsAny<ArgumentException>(() => CheckoutForm.Create(request, Stage, EcpayUrls.Stage));
            Assert.True(e is CheckoutValidationException or UnsignableFieldException, $"{property.Name}: {e.GetType().Name}");
        }
    }

    [Fact]
    public void ARealPostOfEachKindPassesTheAllowlist()
    {
        Assert.Null(EcpayPostFields.Problem(EcpayPostKind.ReturnUrl, Signed(
            ("MerchantID", "3002607"), ("MerchantTradeNo", "EE0MWVO2NL1CBSNIOD5Z"), ("StoreID", ""), ("RtnCode", "1"), ("RtnMsg", "交易成功"),
            ("TradeNo", "2611251312118239"), ("TradeAmt", "100"), ("PaymentDate", "2026/11/25 13:12:11"), ("PaymentType", "Credit_CreditCard"),
            ("PaymentTypeChargeFee", "3"), ("TradeDate", "2026/11/25 13:11:58"), ("SimulatePaid", "0"),
            ("CustomField1", "42"), ("CustomField2", ""), ("CustomField3", ""), ("CustomField4", ""))));
        Assert.Null(EcpayPostFields.Problem(EcpayPostKind.PaymentInfoUrl, Signed(
            ("MerchantID", "3002607"), ("MerchantTradeNo", "EE0MWVO2NL1CBSNIOD5Z"), ("StoreID", ""), ("RtnCode", "2"), ("RtnMsg", "Get VirtualAccount Succeeded"),
            ("TradeNo", "2611251312118240"), ("TradeAmt", "1200"), ("PaymentType", "ATM_TAISHIN"), ("TradeDate", "2026/11/25 13:11:58"),
            ("BankCode", "812"), ("vAccount", "9103522175887271"), ("ExpireDate", "2026/11/28"),
            ("CustomField1", "42"), ("CustomField2", ""), ("CustomField3", ""), ("CustomField4", ""))));
        Assert.Null(EcpayPostFields.Problem(EcpayPostKind.PaymentInfoUrl, Signed(
            ("MerchantID", "3002607"), ("MerchantTradeNo", "EE0MWVO2NL1CBSNIOD5Z"), ("StoreID", ""), ("RtnCode", "10100073"), ("RtnMsg", "Get CVS Code Succeeded."),
            ("TradeNo", "2611251312118241"), ("TradeAmt", "300"), ("PaymentType", "BARCODE_BARCODE"), ("TradeDate", "2026/11/25 13:11:58"),
            ("PaymentNo", ""), ("ExpireDate", "2026/12/02"), ("Barcode1", "261202617"), ("Barcode2", "1234567890123456"), ("Barcode3", "120100000000300"))));
        Assert.Null(EcpayPostFields.Problem(EcpayPostKind.QueryTradeInfo, Signed(
            ("MerchantID", "3002607"), ("MerchantTradeNo", "EE0MWVO2NL1CBSNIOD5Z"), ("StoreID", ""), ("TradeNo", "2611251312118239"), ("TradeAmt", "100"),
            ("PaymentDate", "2026/11/25 13:12:11"), ("PaymentType", "Credit_CreditCard"), ("HandlingCharge", "5"), ("PaymentTypeChargeFee", "3"),
            ("TradeDate", "2026/11/25 13:11:58"), ("TradeStatus", "1"), ("ItemName", "儲值 100#bonus"), ("CustomField1", "42"), ("CustomField2", ""),
            ("CustomField3", ""), ("CustomField4", ""), ("gwsr", "12345"), ("card4no", "2222"))));
    }

    [Fact]
    public void TheAllowlistsDifferOnlyWhereEcpayDocumentsThemToDiffer()
    {
        var returnUrl = EcpayPostFields.Allowed(EcpayPostKind.ReturnUrl);
        Assert.Equal(returnUrl, EcpayPostFields.Allowed(EcpayPostKind.OrderResultUrl));
        string[] common = ["MerchantID", "MerchantTradeNo", "StoreID", "RtnCode", "RtnMsg", "TradeNo", "TradeAmt", "PaymentType", "TradeDate",
            "CustomField1", "CustomField2", "CustomField3", "CustomField4", "CheckMacValue"];
        Assert.Equal(new HashSet<string>([.. common, "PaymentDate", "PaymentTypeChargeFee", "SimulatePaid"]), returnUrl);
        Assert.Equal(new HashSet<string>([.. common, "BankCode", "vAccount", "ExpireDate"]), EcpayPostFields.Allowed(EcpayPostKind.PaymentInfoUrl, "ATM_TAISHIN"));
        Assert.Equal(new HashSet<string>([.. common, "PaymentNo", "ExpireDate", "Barcode1", "Barcode2", "Barcode3"]), EcpayPostFields.Allowed(EcpayPostKind.PaymentInfoUrl, "CVS_CVS"));
        Assert.Equal(EcpayPostFields.Allowed(EcpayPostKind.PaymentInfoUrl, "CVS_CVS"), EcpayPostFields.Allowed(EcpayPostKind.PaymentInfoUrl, "BARCODE_BARCODE"));
        Assert.Empty(EcpayPostFields.Allowed(EcpayPostKind.PaymentInfoUrl, "Credit_CreditCard"));
        Assert.DoesNotContain("PlatformID", returnUrl);
        Assert.DoesNotContain("card4no", returnUrl); // NeedExtraPaidInfo=Y only
    }

    private static List<KeyValuePair<string, string>> Signed(params (string Key, string Value)[] fields)
    {
        var list = fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)).ToList();
        list.Add(new(CheckMacValue.FieldName, CheckMacValue.Compute(list, Stage.HashKey, Stage.HashIv)));
        return list;
    }
}
