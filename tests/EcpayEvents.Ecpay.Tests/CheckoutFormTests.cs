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
        var e = Assert.Throws<CheckoutValidationException>(() => CheckoutForm.Create(request, credentials ?? EcpayCredentials.Stage, EcpayUrls.Stage));
        Assert.Equal(field, e.Field);
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void BuildsASignedFormInDocumentedFieldOrder()
    {
        var form = CheckoutForm.Create(Valid(), EcpayCredentials.Stage, EcpayUrls.Stage);
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
        var form = CheckoutForm.Create(Valid() with { MerchantTradeDate = new DateTimeOffset(2024, 12, 31, 23, 0, 0, TimeSpan.FromHours(-5)) }, EcpayCredentials.Stage, EcpayUrls.Stage);
        Assert.Equal("2025/01/01 12:00:00", form.Fields.Single(f => f.Key == "MerchantTradeDate").Value);
    }

    [Fact]
    public void TakesTheTradeDateFromTheTimeProviderWhenNoneIsGiven()
    {
        var form = CheckoutForm.Create(Valid() with { MerchantTradeDate = null }, EcpayCredentials.Stage, EcpayUrls.Stage, new FixedTime(OrderTime));
        Assert.Equal("2025/01/01 12:00:00", form.Fields.Single(f => f.Key == "MerchantTradeDate").Value);
    }

    [Fact]
    public void UsesACustomBaseUrlForTheLocalSandbox()
    {
        var endpoints = EcpayUrls.FromBaseUrl("http://127.0.0.1:5090");
        Assert.Equal("http://127.0.0.1:5090/Cashier/AioCheckOut/V5", endpoints.CheckoutUrl.AbsoluteUri);
        Assert.Equal("http://127.0.0.1:5090/Cashier/QueryTradeInfo/V5", endpoints.QueryTradeInfoUrl.AbsoluteUri);
        Assert.Equal("https://payment.ecpay.com.tw/Cashier/QueryTradeInfo/V5", EcpayUrls.Production.QueryTradeInfoUrl.AbsoluteUri);
        Assert.Throws<ArgumentException>(() => EcpayUrls.FromBaseUrl("ftp://x"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("ABCDEFGHIJ0123456789X")]
    [InlineData("Dep-2025")]
    [InlineData("訂單1")]
    public void RejectsAMerchantTradeNoThatIsNotOneToTwentyAlphanumerics(string no) => AssertRejects(Valid() with { MerchantTradeNo = no }, "MerchantTradeNo");

    [Fact]
    public void AcceptsATwentyCharacterMerchantTradeNo()
        => CheckoutForm.Create(Valid() with { MerchantTradeNo = "ABCDEFGHIJ0123456789" }, EcpayCredentials.Stage, EcpayUrls.Stage);

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
        => CheckoutForm.Create(Valid() with { TotalAmount = amount }, EcpayCredentials.Stage, EcpayUrls.Stage);

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
        CheckoutForm.Create(Valid() with { ItemName = new string('綠', 133) }, EcpayCredentials.Stage, EcpayUrls.Stage);
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
        => CheckoutForm.Create(Valid() with { ChoosePayment = method, StoreExpireDate = value }, EcpayCredentials.Stage, EcpayUrls.Stage);

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
        CheckoutForm.Create(Valid() with { ChoosePayment = ChoosePayment.All, IgnorePayment = "ATM#CVS" }, EcpayCredentials.Stage, EcpayUrls.Stage);
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
        const string hostile = "\"><script>alert('x')</script>"; // no '&': a separator is never signed
        var form = CheckoutForm.Create(Valid() with { ItemName = hostile, TradeDesc = "<b>", CustomField1 = "' onmouseover'x" }, EcpayCredentials.Stage, EcpayUrls.Stage);
        var html = form.ToHtml(cspNonce: "n\"once");
        Assert.DoesNotContain("<script>alert", html);
        // Every hidden input is exactly one well-formed attribute pair: no value broke out of its quotes.
        var inputs = System.Text.RegularExpressions.Regex.Matches(html, "<input type=\"hidden\" name=\"([^\"<>]*)\" value=\"([^\"<>']*)\">\n");
        Assert.Equal(form.Fields.Count, inputs.Count);
        Assert.DoesNotContain("<b>", html);
        Assert.DoesNotContain("' onmouseover", html);
        Assert.Contains("value=\"&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\"", html);
        Assert.Contains("nonce=\"n&quot;once\"", html);
        Assert.Contains("action=\"https://payment-stage.ecpay.com.tw/Cashier/AioCheckOut/V5\"", html);
        Assert.Equal(form.Fields.Count, html.Split("<input type=\"hidden\"").Length - 1);
        // The MAC is over the raw value, not the HTML-encoded one.
        Assert.True(CheckMacValue.Verify(form.Fields, EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv));
        Assert.Equal(hostile, form.Fields.Single(f => f.Key == "ItemName").Value);
    }

    private static void AssertAccepts(CheckoutRequest request) => CheckoutForm.Create(request, EcpayCredentials.Stage, EcpayUrls.Stage);

    private static CheckoutRequest WithText(string field, string value) => field switch
    {
        "TradeDesc" => Valid() with { TradeDesc = value },
        "ItemName" => Valid() with { ItemName = value },
        "CustomField1" => Valid() with { CustomField1 = value },
        "CustomField2" => Valid() with { CustomField2 = value },
        "CustomField3" => Valid() with { CustomField3 = value },
        "CustomField4" => Valid() with { CustomField4 = value },
        "ReturnURL" => Valid() with { ReturnUrl = value },
        "ClientBackURL" => Valid() with { ClientBackUrl = value },
        "OrderResultURL" => Valid() with { OrderResultUrl = value },
        "PaymentInfoURL" => Valid() with { PaymentInfoUrl = value },
        _ => throw new ArgumentException(field),
    };

    public static TheoryData<string, string> ControlCharactersInEveryFreeTextField()
    {
        var data = new TheoryData<string, string>();
        foreach (var field in new[] { "TradeDesc", "ItemName", "CustomField1", "CustomField2", "CustomField3", "CustomField4" })
        {
            foreach (var c in new[] { "\r", "\n", "\r\n", "\0", "\t", "\u001B", "\u007F", "\u0085" })
            {
                data.Add(field, c);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ControlCharactersInEveryFreeTextField))]
    public void RejectsControlCharactersInFreeText(string field, string control)
    {
        var e = Assert.Throws<CheckoutValidationException>(() => CheckoutForm.Create(WithText(field, "ab" + control + "cd"), EcpayCredentials.Stage, EcpayUrls.Stage));
        Assert.Equal(field, e.Field);
        Assert.StartsWith(field + ": contains a control character", e.Message);
        Assert.Contains($"U+{(int)control[0]:X4} at position 2", e.Message);
    }

    [Theory]
    [InlineData("ReturnURL")]
    [InlineData("ClientBackURL")]
    [InlineData("OrderResultURL")]
    [InlineData("PaymentInfoURL")]
    public void RejectsControlCharactersInUrls(string field)
    {
        AssertRejects(WithText(field, "https://example.com/a\0b"), field);
        AssertRejects(WithText(field, "https://example.com/a\r\nX-Injected: 1"), field);
    }

    [Fact]
    public void AcceptsNonControlUnicodeInFreeText()
        => AssertAccepts(Valid() with { ItemName = "儲值 500 😀 ＃ — é", TradeDesc = "促銷方案：滿千送百", CustomField1 = "u42 ~!@$%^*()＆＝" });

    public static TheoryData<string, string> SeparatorsInEverySignedTextField()
    {
        var data = new TheoryData<string, string>();
        foreach (var field in new[] { "TradeDesc", "ItemName", "CustomField1", "CustomField2", "CustomField3", "CustomField4" })
        {
            data.Add(field, "a&b");
            data.Add(field, "a=b");
            data.Add(field, "x&RtnCode=1&y=");
        }
        foreach (var field in new[] { "ReturnURL", "ClientBackURL", "OrderResultURL", "PaymentInfoURL" })
        {
            data.Add(field, "https://example.com/r?a=1");
            data.Add(field, "https://example.com/r?a&b");
        }
        return data;
    }

    // CheckMacValue joins key=value pairs with '&' unescaped: a separator in a signed value could make the
    // signed string read as other fields (an ECPay post) under the same MAC, so it is refused, never signed.
    [Theory]
    [MemberData(nameof(SeparatorsInEverySignedTextField))]
    public void RejectsSeparatorsInEverySignedTextField(string field, string value)
    {
        var e = Assert.Throws<CheckoutValidationException>(() => CheckoutForm.Create(WithText(field, value), EcpayCredentials.Stage, EcpayUrls.Stage));
        Assert.Equal(field, e.Field);
        Assert.Contains("'&' and '=' separate the signed fields", e.Message);
    }

    [Fact]
    public void RejectsASeparatorInTheMerchantId()
        => AssertRejects(Valid(), "MerchantID", EcpayCredentials.Stage with { MerchantId = "30&2607" });

    // The figures are repeated here on purpose: the test checks the table, not itself.
    [Theory]
    [InlineData(ChoosePayment.Credit, 5, 199_999)]
    [InlineData(ChoosePayment.ApplePay, 5, 199_999)]
    [InlineData(ChoosePayment.WebAtm, 11, 49_999)]
    [InlineData(ChoosePayment.Atm, 11, 49_999)]
    [InlineData(ChoosePayment.Cvs, 33, 6_000)]
    [InlineData(ChoosePayment.Barcode, 17, 20_000)]
    [InlineData(ChoosePayment.Bnpl, 3_000, 199_999)]
    [InlineData(ChoosePayment.Twqr, 1, 199_999)]
    [InlineData(ChoosePayment.All, 1, 199_999)]
    public void EnforcesEachPaymentMethodsAmountLimits(string method, long min, long max)
    {
        Assert.Equal((min, max), CheckoutForm.AmountLimits(method));
        AssertAccepts(Valid() with { ChoosePayment = method, TotalAmount = min });
        AssertAccepts(Valid() with { ChoosePayment = method, TotalAmount = max });
        if (min > 1)
        {
            AssertRejects(Valid() with { ChoosePayment = method, TotalAmount = min - 1 }, "TotalAmount");
        }
        var e = Assert.Throws<CheckoutValidationException>(() => CheckoutForm.Create(Valid() with { ChoosePayment = method, TotalAmount = max + 1 }, EcpayCredentials.Stage, EcpayUrls.Stage));
        Assert.Equal("TotalAmount", e.Field);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{method} range {min:N0}–{max:N0} TWD"), e.Message);
    }

    [Fact]
    public void EveryKnownPaymentMethodHasAmountLimits()
        => Assert.All(ChoosePayment.Known, m => Assert.True(CheckoutForm.AmountLimitsByMethod.ContainsKey(m), m));

    [Fact]
    public void RejectsAMerchantTradeDateBeforeTheYear2000InTaiwan()
    {
        AssertRejects(Valid() with { MerchantTradeDate = new DateTimeOffset(1999, 12, 31, 15, 59, 59, TimeSpan.Zero) }, "MerchantTradeDate");
        // 16:00 UTC on 1999-12-31 is already 2000/01/01 00:00:00 in Taiwan: the year is Taiwan's.
        var form = CheckoutForm.Create(Valid() with { MerchantTradeDate = new DateTimeOffset(1999, 12, 31, 16, 0, 0, TimeSpan.Zero) }, EcpayCredentials.Stage, EcpayUrls.Stage);
        Assert.Equal("2000/01/01 00:00:00", form.Fields.Single(f => f.Key == "MerchantTradeDate").Value);
    }

    [Theory]
    [InlineData("TradeDesc")]
    [InlineData("ItemName")]
    [InlineData("CustomField1")]
    [InlineData("CustomField4")]
    public void RejectsAnUnpairedSurrogate(string field)
    {
        var e = Assert.Throws<CheckoutValidationException>(() => CheckoutForm.Create(WithText(field, "ab\uD83Dcd"), EcpayCredentials.Stage, EcpayUrls.Stage));
        Assert.Equal(field, e.Field);
        Assert.Contains("unpaired surrogate", e.Message);
        AssertRejects(WithText(field, "ab\uDE00"), field);
    }

    [Theory]
    [InlineData("ItemName")]
    [InlineData("ReturnURL")]
    [InlineData("TradeDesc")]
    public void RejectsAMissingRequiredField(string field)
    {
        AssertRejects(WithText(field, ""), field);
        AssertRejects(WithText(field, null!), field);
    }

    [Fact]
    public void RejectsAnEmptyMerchantId() => AssertRejects(Valid(), "MerchantID", EcpayCredentials.Stage with { MerchantId = "" });

    [Theory]
    [InlineData("ReturnURL")]
    [InlineData("ClientBackURL")]
    [InlineData("OrderResultURL")]
    [InlineData("PaymentInfoURL")]
    public void UrlsMayBeExactly200BytesButNotMore(string field)
    {
        const string prefix = "https://example.com/";
        var exactly200 = prefix + new string('a', 200 - prefix.Length);
        Assert.Equal(200, exactly200.Length);
        AssertAccepts(WithText(field, exactly200) with { OrderResultUrl = field == "OrderResultURL" ? exactly200 : null });
        AssertRejects(WithText(field, exactly200 + "a"), field);
    }

    [Fact]
    public void AcceptsTextAtItsExactByteLimits()
    {
        AssertAccepts(Valid() with { TradeDesc = new string('a', 200) });
        AssertAccepts(Valid() with { TradeDesc = new string('綠', 66) + "ab" });
        AssertAccepts(Valid() with { ItemName = new string('a', 400) });
        AssertAccepts(Valid() with { CustomField1 = new string('x', 50), CustomField2 = new string('x', 50), CustomField3 = new string('x', 50), CustomField4 = new string('x', 50) });
        AssertRejects(Valid() with { CustomField2 = new string('綠', 17) }, "CustomField2");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(60)]
    public void AcceptsAnAtmExpireDateAtItsLimits(int days)
    {
        AssertAccepts(Valid() with { ChoosePayment = ChoosePayment.Atm, ExpireDate = days });
        AssertAccepts(Valid() with { ChoosePayment = ChoosePayment.All, ExpireDate = days });
    }

    [Theory]
    [InlineData(ChoosePayment.Cvs, 1)]
    [InlineData(ChoosePayment.Cvs, 43_200)]
    [InlineData(ChoosePayment.Barcode, 1)]
    [InlineData(ChoosePayment.Barcode, 30)]
    public void AcceptsAStoreExpireDateAtItsLimits(string method, int value)
        => AssertAccepts(Valid() with { ChoosePayment = method, StoreExpireDate = value });

    [Fact]
    public void MerchantTradeDateIsTaiwanTimeWhenTheServerIsInAnotherTimeZone()
    {
        // 2025-01-01 04:00 UTC: 23:00 the day before in New York (UTC-5), 12:00 in Taiwan.
        var newYork = TimeZoneInfo.CreateCustomTimeZone("Test/New_York", TimeSpan.FromHours(-5), "UTC-5", "UTC-5");
        var time = new FixedTime(OrderTime, newYork);
        Assert.Equal(new DateTime(2024, 12, 31, 23, 0, 0), time.GetLocalNow().DateTime);
        var form = CheckoutForm.Create(Valid() with { MerchantTradeDate = null }, EcpayCredentials.Stage, EcpayUrls.Stage, time);
        Assert.Equal("2025/01/01 12:00:00", form.Fields.Single(f => f.Key == "MerchantTradeDate").Value);

        // A local DateTime from a New York server, given as DateTimeOffset with its offset.
        var local = new DateTimeOffset(new DateTime(2024, 12, 31, 23, 0, 0, DateTimeKind.Unspecified), newYork.BaseUtcOffset);
        Assert.Equal("2025/01/01 12:00:00", TaiwanTime.Format(local));
    }

    [Fact]
    public void MerchantTradeDateFromTheSystemClockIsTaiwanTimeWhateverTheProcessTimeZone()
    {
        // Runs in this process (UTC here) and, through the next test, in a child process with TZ=America/New_York.
        if (Environment.GetEnvironmentVariable("TZ") == "America/New_York")
        {
            Assert.NotEqual(TimeSpan.Zero, TimeZoneInfo.Local.GetUtcOffset(DateTimeOffset.UtcNow));
        }
        var before = DateTimeOffset.UtcNow;
        var form = CheckoutForm.Create(Valid() with { MerchantTradeDate = null }, EcpayCredentials.Stage, EcpayUrls.Stage, TimeProvider.System);
        var after = DateTimeOffset.UtcNow;
        var sent = form.Fields.Single(f => f.Key == "MerchantTradeDate").Value;
        string Taiwan(DateTimeOffset utc) => utc.UtcDateTime.AddHours(8).ToString("yyyy/MM/dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains(sent, new[] { Taiwan(before), Taiwan(after) });
    }

    [Fact]
    public async Task MerchantTradeDateIsTaiwanTimeInAProcessWhoseTimeZoneIsNewYork()
    {
        var probe = await RepoRoot.RunAsync("bash", ["-c", "TZ=America/New_York date +%z"]);
        Assert.True(probe.Stdout.Trim() is "-0500" or "-0400", $"the machine lacks the America/New_York zone: '{probe.Stdout}'");
        var self = System.IO.Path.Combine(AppContext.BaseDirectory, "EcpayEvents.Ecpay.Tests.dll");
        var run = await RepoRoot.RunAsync("dotnet", [self, "-method", "*." + nameof(MerchantTradeDateFromTheSystemClockIsTaiwanTimeWhateverTheProcessTimeZone), "-noColor"],
            env: new Dictionary<string, string?> { ["TZ"] = "America/New_York" }, timeout: TimeSpan.FromMinutes(2));
        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
        Assert.Contains("Total: 1, Errors: 0, Failed: 0", run.Stdout);
    }

    private sealed class FixedTime(DateTimeOffset now, TimeZoneInfo? zone = null) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;

        public override TimeZoneInfo LocalTimeZone => zone ?? TimeZoneInfo.Utc;
    }
}
