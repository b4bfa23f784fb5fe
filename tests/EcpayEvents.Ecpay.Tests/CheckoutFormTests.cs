namespace EcpayEvents.Ecpay.Tests;

public sealed class CheckoutFormTests
{
    private static readonly DateTimeOffset OrderTime = new(2025, 1, 1, 4, 0, 0, TimeSpan.Zero);

    private static CheckoutRequest Valid() => new()
    {
        MerchantTradeNo = "Dep20250101A",
        MerchantTradeDate = OrderTime,
        TotalAmount = 500,
        TradeDesc = "儲值",
        ItemName = "儲值點數 500",
        ReturnUrl = "https://api.example.com/ecpay/return",
        OrderResultUrl = "https://app.example.com/ecpay/result",
        ChoosePayment = ChoosePayment.Credit,
    };

    private static void AssertRejects(CheckoutRequest request, string field, EcpayCredentials? credentials = null)
    {
        var e = Assert.Throws<CheckoutValidationException>(() => CheckoutForm.Create(request, credentials ?? EcpayCredentials.Stage, EcpayEndpoints.Stage));
        Assert.Equal(field, e.Field);
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void BuildsASignedFormInDocumentedFieldOrder()
    {
        var form = CheckoutForm.Create(Valid(), EcpayCredentials.Stage, EcpayEndpoints.Stage);
        Assert.Equal(new Uri("https://payment-stage.ecpay.com.tw/Cashier/AioCheckOut/V5"), form.ActionUrl);
        Assert.Equal(
            ["MerchantID", "MerchantTradeNo", "MerchantTradeDate", "PaymentType", "TotalAmount", "TradeDesc", "ItemName", "ReturnURL", "ChoosePayment", "EncryptType", "OrderResultURL", "CheckMacValue"],
            form.Fields.Select(f => f.Key));
        Assert.True(CheckMacValue.Verify(form.Fields, EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv));
        Assert.Equal("aio", form.Fields.Single(f => f.Key == "PaymentType").Value);
        Assert.Equal("1", form.Fields.Single(f => f.Key == "EncryptType").Value);
    }

    [Fact]
    public void WritesMerchantTradeDateInTaiwanTimeWhateverOffsetItIsGivenIn()
    {
        var form = CheckoutForm.Create(Valid() with { MerchantTradeDate = new DateTimeOffset(2024, 12, 31, 23, 0, 0, TimeSpan.FromHours(-5)) }, EcpayCredentials.Stage, EcpayEndpoints.Stage);
        Assert.Equal("2025/01/01 12:00:00", form.Fields.Single(f => f.Key == "MerchantTradeDate").Value);
    }

    [Fact]
    public void TakesTheTradeDateFromTheTimeProviderWhenNoneIsGiven()
    {
        var form = CheckoutForm.Create(Valid() with { MerchantTradeDate = null }, EcpayCredentials.Stage, EcpayEndpoints.Stage, new FixedTime(OrderTime));
        Assert.Equal("2025/01/01 12:00:00", form.Fields.Single(f => f.Key == "MerchantTradeDate").Value);
    }

    [Fact]
    public void UsesACustomBaseUrlForTheLocalSandbox()
    {
        var endpoints = EcpayEndpoints.FromBaseUrl("http://127.0.0.1:5090");
        Assert.Equal("http://127.0.0.1:5090/Cashier/AioCheckOut/V5", endpoints.CheckoutUrl.AbsoluteUri);
        Assert.Equal("http://127.0.0.1:5090/Cashier/QueryTradeInfo/V5", endpoints.QueryTradeInfoUrl.AbsoluteUri);
        Assert.Equal("https://payment.ecpay.com.tw/Cashier/QueryTradeInfo/V5", EcpayEndpoints.Production.QueryTradeInfoUrl.AbsoluteUri);
        Assert.Throws<ArgumentException>(() => EcpayEndpoints.FromBaseUrl("ftp://x"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("ABCDEFGHIJ0123456789X")]
    [InlineData("Dep-2025")]
    [InlineData("訂單1")]
    public void RejectsAMerchantTradeNoThatIsNotOneToTwentyAlphanumerics(string no) => AssertRejects(Valid() with { MerchantTradeNo = no }, "MerchantTradeNo");

    [Fact]
    public void AcceptsATwentyCharacterMerchantTradeNo()
        => CheckoutForm.Create(Valid() with { MerchantTradeNo = "ABCDEFGHIJ0123456789" }, EcpayCredentials.Stage, EcpayEndpoints.Stage);

    [Fact]
    public void RejectsAMerchantIdLongerThanTenCharacters()
        => AssertRejects(Valid(), "MerchantID", EcpayCredentials.Stage with { MerchantId = "12345678901" });

    [Theory]
    [InlineData(0)]
    [InlineData(-100)]
    public void RejectsANonPositiveTotalAmount(long amount) => AssertRejects(Valid() with { TotalAmount = amount, ChoosePayment = ChoosePayment.All }, "TotalAmount");

    [Theory]
    [InlineData(4)]
    [InlineData(200_000)]
    public void RejectsACreditCardAmountOutsideFiveTo199999(long amount) => AssertRejects(Valid() with { TotalAmount = amount }, "TotalAmount");

    [Theory]
    [InlineData(5)]
    [InlineData(199_999)]
    public void AcceptsCreditCardAmountsAtTheLimits(long amount)
        => CheckoutForm.Create(Valid() with { TotalAmount = amount }, EcpayCredentials.Stage, EcpayEndpoints.Stage);

    [Fact]
    public void RejectsABnplAmountBelow3000() => AssertRejects(Valid() with { TotalAmount = 2_999, ChoosePayment = ChoosePayment.Bnpl }, "TotalAmount");

    [Fact]
    public void RejectsATradeDescOver200Bytes() => AssertRejects(Valid() with { TradeDesc = new string('a', 201) }, "TradeDesc");

    [Fact]
    public void RejectsAnEmptyTradeDesc() => AssertRejects(Valid() with { TradeDesc = "" }, "TradeDesc");

    [Fact]
    public void CountsItemNameInUtf8BytesSo134ChineseCharactersAreTooMany()
    {
        // 133 × 3 bytes = 399 fits; 134 × 3 = 402 does not, although it is only 134 characters.
        CheckoutForm.Create(Valid() with { ItemName = new string('綠', 133) }, EcpayCredentials.Stage, EcpayEndpoints.Stage);
        AssertRejects(Valid() with { ItemName = new string('綠', 134) }, "ItemName");
        AssertRejects(Valid() with { ItemName = new string('a', 401) }, "ItemName");
    }

    [Fact]
    public void TruncatesItemNamesWithoutSplittingACharacter()
    {
        var cut = CheckoutForm.TruncateUtf8("ab綠界😀", 9);
        Assert.Equal("ab綠界", cut);
        Assert.Equal("ab綠", CheckoutForm.TruncateUtf8("ab綠界", 7));
        Assert.Equal("a#b", CheckoutForm.JoinItemNames(["a", "b"]));
    }

    [Theory]
    [InlineData("/relative/path")]
    [InlineData("ftp://example.com/x")]
    [InlineData("javascript:alert(1)")]
    [InlineData("https://exa mple.com/x")]
    public void RejectsAReturnUrlThatIsNotAbsoluteHttp(string url) => AssertRejects(Valid() with { ReturnUrl = url }, "ReturnURL");

    [Fact]
    public void RejectsAReturnUrlOver200Characters()
        => AssertRejects(Valid() with { ReturnUrl = "https://example.com/" + new string('a', 181) }, "ReturnURL");

    [Fact]
    public void RejectsAnOrderResultUrlEqualToTheReturnUrl()
        => AssertRejects(Valid() with { OrderResultUrl = Valid().ReturnUrl }, "OrderResultURL");

    [Theory]
    [InlineData("ClientBackURL")]
    [InlineData("OrderResultURL")]
    [InlineData("PaymentInfoURL")]
    public void RejectsOtherUrlsThatAreNotAbsoluteHttp(string field)
    {
        var request = field switch
        {
            "ClientBackURL" => Valid() with { ClientBackUrl = "/back" },
            "OrderResultURL" => Valid() with { OrderResultUrl = "/result" },
            _ => Valid() with { PaymentInfoUrl = "mailto:x@example.com" },
        };
        AssertRejects(request, field);
    }

    [Theory]
    [InlineData("credit")]
    [InlineData("PayPal")]
    [InlineData("")]
    public void RejectsAnUnknownChoosePayment(string choice) => AssertRejects(Valid() with { ChoosePayment = choice }, "ChoosePayment");

    [Theory]
    [InlineData(0)]
    [InlineData(61)]
    public void RejectsAnAtmExpireDateOutsideOneToSixtyDays(int days)
        => AssertRejects(Valid() with { ChoosePayment = ChoosePayment.Atm, ExpireDate = days }, "ExpireDate");

    [Fact]
    public void RejectsAnExpireDateForCreditCards() => AssertRejects(Valid() with { ExpireDate = 3 }, "ExpireDate");

    [Theory]
    [InlineData(ChoosePayment.Cvs, 0)]
    [InlineData(ChoosePayment.Cvs, 43_201)]
    [InlineData(ChoosePayment.Barcode, 0)]
    [InlineData(ChoosePayment.Barcode, 31)]
    [InlineData(ChoosePayment.All, 7)]
    public void RejectsAStoreExpireDateOutsideItsMethodsRange(string method, int value)
        => AssertRejects(Valid() with { ChoosePayment = method, StoreExpireDate = value }, "StoreExpireDate");

    [Theory]
    [InlineData(ChoosePayment.Cvs, 10_080)]
    [InlineData(ChoosePayment.Barcode, 7)]
    public void AcceptsTheDefaultStoreExpireDates(string method, int value)
        => CheckoutForm.Create(Valid() with { ChoosePayment = method, StoreExpireDate = value }, EcpayCredentials.Stage, EcpayEndpoints.Stage);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void RejectsACustomFieldOver50Bytes(int n)
    {
        var value = new string('x', 51);
        var request = n switch
        {
            1 => Valid() with { CustomField1 = value },
            2 => Valid() with { CustomField2 = value },
            3 => Valid() with { CustomField3 = value },
            _ => Valid() with { CustomField4 = value },
        };
        AssertRejects(request, $"CustomField{n}");
    }

    [Fact]
    public void RejectsIgnorePaymentUnlessChoosePaymentIsAll()
    {
        AssertRejects(Valid() with { IgnorePayment = "ATM" }, "IgnorePayment");
        AssertRejects(Valid() with { ChoosePayment = ChoosePayment.All, IgnorePayment = "ATM#Bitcoin" }, "IgnorePayment");
        CheckoutForm.Create(Valid() with { ChoosePayment = ChoosePayment.All, IgnorePayment = "ATM#CVS" }, EcpayCredentials.Stage, EcpayEndpoints.Stage);
    }

    [Fact]
    public void RejectsAnUnknownLanguage() => AssertRejects(Valid() with { Language = "FR" }, "Language");

    [Fact]
    public void ListsEveryBrokenRule()
    {
        var errors = CheckoutForm.Validate(Valid() with { MerchantTradeNo = "x-1", TotalAmount = 0, ReturnUrl = "nope" }, EcpayCredentials.Stage);
        Assert.Equal(["MerchantTradeNo", "TotalAmount", "ReturnURL"], errors.Select(e => e.Field));
    }

    [Fact]
    public void TheHtmlFormEscapesHostileValues()
    {
        const string hostile = "\"><script>alert('x')</script>&amp;";
        var form = CheckoutForm.Create(Valid() with { ItemName = hostile, TradeDesc = "<b>", CustomField1 = "' onmouseover='x" }, EcpayCredentials.Stage, EcpayEndpoints.Stage);
        var html = form.ToHtml(cspNonce: "n\"once");
        Assert.DoesNotContain("<script>alert", html);
        // Every hidden input is exactly one well-formed attribute pair: no value broke out of its quotes.
        var inputs = System.Text.RegularExpressions.Regex.Matches(html, "<input type=\"hidden\" name=\"([^\"<>]*)\" value=\"([^\"<>']*)\">\n");
        Assert.Equal(form.Fields.Count, inputs.Count);
        Assert.DoesNotContain("<b>", html);
        Assert.DoesNotContain("' onmouseover", html);
        Assert.Contains("value=\"&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;amp;\"", html);
        Assert.Contains("nonce=\"n&quot;once\"", html);
        Assert.Contains("action=\"https://payment-stage.ecpay.com.tw/Cashier/AioCheckOut/V5\"", html);
        Assert.Equal(form.Fields.Count, html.Split("<input type=\"hidden\"").Length - 1);
        // The MAC is over the raw value, not the HTML-encoded one.
        Assert.True(CheckMacValue.Verify(form.Fields, EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv));
        Assert.Equal(hostile, form.Fields.Single(f => f.Key == "ItemName").Value);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
