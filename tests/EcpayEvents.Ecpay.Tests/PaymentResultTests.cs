namespace EcpayEvents.Ecpay.Tests;

public sealed class PaymentResultTests
{
    private const string PaidPost =
        "MerchantID=3002607&MerchantTradeNo=Dep20250101A&StoreID=&RtnCode=1&RtnMsg=%E4%BA%A4%E6%98%93%E6%88%90%E5%8A%9F&TradeNo=2501011200001234"
        + "&TradeAmt=500&PaymentDate=2025%2F01%2F01+12%3A05%3A09&PaymentType=Credit_CreditCard&PaymentTypeChargeFee=12.5"
        + "&TradeDate=2025%2F01%2F01+12%3A00%3A00&SimulatePaid=0&CustomField1=u42&CustomField2=&CustomField3=&CustomField4=&CheckMacValue=X";

    [Fact]
    public void ParsesAPaidReturnUrlPost()
    {
        var result = PaymentResult.Parse(EcpayPostKind.ReturnUrl, EcpayForm.Parse(PaidPost));
        Assert.Equal("Dep20250101A", result.MerchantTradeNo);
        Assert.Equal("1", result.Code);
        Assert.Equal("交易成功", result.Message);
        Assert.Equal(500, result.TradeAmt);
        Assert.Equal(12.5m, result.PaymentTypeChargeFee);
        Assert.False(result.SimulatePaid);
        Assert.True(result.IsRealPayment);
        Assert.Equal("u42", result.CustomField1);
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 4, 5, 9, TimeSpan.Zero), result.PaymentDate);
        Assert.Equal(TimeSpan.FromHours(8), result.PaymentDate!.Value.Offset);
    }

    [Fact]
    public void APostWithFieldsWeDoNotKnowVerifiesOverEveryFieldAsPosted()
    {
        // NeedExtraPaidInfo=Y and future ECPay versions add fields (some empty): ECPay signs all of them, so
        // verification must run over the posted fields as they are, not over the ones the typed view knows.
        var unsigned = PaidPost.Replace("&CheckMacValue=X", "")
            + "&gwsr=11223344&process_date=2025%2F01%2F01+12%3A05%3A09&auth_code=777777&card4no=2222&eci=&red_dan=0&NewFieldFrom2030=a+b%7E";
        var fields = EcpayForm.Parse(unsigned);
        var post = EcpayForm.Parse(unsigned + "&CheckMacValue=" + CheckMacValue.Compute(fields, EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv));

        Assert.True(CheckMacValue.Verify(post, EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv));
        Assert.Equal(500, PaymentResult.Parse(EcpayPostKind.ReturnUrl, post).TradeAmt);
        // Dropping an unknown field (even an empty one), or changing one, breaks the MAC.
        Assert.False(CheckMacValue.Verify(post.Where(f => f.Key != "eci"), EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv));
        Assert.False(CheckMacValue.Verify(post.Select(f => f.Key == "NewFieldFrom2030" ? new KeyValuePair<string, string>(f.Key, "a b") : f),
            EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv));
    }

    [Fact]
    public void ASimulatedPaymentIsNotARealPayment()
    {
        var result = PaymentResult.Parse(EcpayPostKind.ReturnUrl, EcpayForm.Parse(PaidPost.Replace("SimulatePaid=0", "SimulatePaid=1")));
        Assert.True(result.SimulatePaid);
        Assert.False(result.IsRealPayment);
    }

    [Theory]
    [InlineData("MerchantTradeNo=Dep20250101A&", "", "MerchantTradeNo")]
    [InlineData("RtnCode=1", "RtnCode=", "RtnCode")]
    [InlineData("RtnCode=1", "RtnCode=ok", "RtnCode")]
    [InlineData("TradeAmt=500", "TradeAmt=500.00", "TradeAmt")]
    [InlineData("TradeAmt=500", "TradeAmt=-5", "TradeAmt")]
    [InlineData("TradeNo=2501011200001234&", "", "TradeNo")]
    [InlineData("SimulatePaid=0", "SimulatePaid=yes", "SimulatePaid")]
    public void RejectsAPaymentResultNamingTheBadField(string replace, string with, string field)
    {
        var form = EcpayForm.Parse(PaidPost.Replace(replace, with));
        var e = Assert.Throws<EcpayPostException>(() => PaymentResult.Parse(EcpayPostKind.ReturnUrl, form));
        Assert.Equal(field, e.Field);
        Assert.False(PaymentResult.TryParse(EcpayPostKind.ReturnUrl, form, out _, out var error));
        Assert.Contains(field, error);
    }

    /// <summary>Strict only where something is decided: an informational field that does not parse is null, the post still reads.</summary>
    [Theory]
    [InlineData("TradeDate=2025%2F01%2F01+12%3A00%3A00", "TradeDate=2025%2F01%2F01+12%3A00")]
    [InlineData("TradeDate=2025%2F01%2F01+12%3A00%3A00", "TradeDate=soon")]
    [InlineData("PaymentTypeChargeFee=12.5", "PaymentTypeChargeFee=abc")]
    [InlineData("PaymentTypeChargeFee=12.5", "PaymentTypeChargeFee=1%2C000")]
    [InlineData("PaymentDate=2025%2F01%2F01+12%3A05%3A09", "PaymentDate=tomorrow")]
    public void AnInformationalFieldThatDoesNotParseDoesNotRejectAPaidResult(string replace, string with)
    {
        var result = PaymentResult.Parse(EcpayPostKind.ReturnUrl, EcpayForm.Parse(PaidPost.Replace(replace, with)));
        Assert.True(result.IsRealPayment);
        Assert.Equal(500, result.TradeAmt);
        var field = with[..with.IndexOf('=')];
        if (field == "TradeDate") Assert.True(result.TradeDate is null || result.TradeDate == new DateTimeOffset(2025, 1, 1, 4, 0, 0, TimeSpan.Zero));
        if (field == "PaymentTypeChargeFee") Assert.Null(result.PaymentTypeChargeFee);
        if (field == "PaymentDate") Assert.Null(result.PaymentDate);
    }

    [Theory]
    [InlineData("2025%2F01%2F01+12%3A05", 0)]
    [InlineData("2025-01-01+12%3A05%3A09", 9)]
    [InlineData("2025%2F1%2F1+12%3A05%3A09", 9)]
    public void APaymentDateInACloseVariantIsRead(string paymentDate, int seconds)
    {
        var result = PaymentResult.Parse(EcpayPostKind.ReturnUrl, EcpayForm.Parse(PaidPost.Replace("PaymentDate=2025%2F01%2F01+12%3A05%3A09", "PaymentDate=" + paymentDate)));
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 4, 5, seconds, TimeSpan.Zero), result.PaymentDate);
    }

    [Fact]
    public void AnOrderResultHasTheSameFieldsAsAPaymentResult()
    {
        var order = PaymentResult.Parse(EcpayPostKind.OrderResultUrl, EcpayForm.Parse(PaidPost));
        Assert.Equal(PaymentResult.Parse(EcpayPostKind.ReturnUrl, EcpayForm.Parse(PaidPost)).TradeAmt, order.TradeAmt);
        Assert.Equal("Credit_CreditCard", order.PaymentType);
    }

    [Fact]
    public void ParsesAnAtmNumberIssuedPostWithADateOnlyExpireDate()
    {
        var info = PaymentInfo.Parse(EcpayForm.Parse(
            "MerchantID=3002607&MerchantTradeNo=Atm1&RtnCode=2&RtnMsg=Get+VirtualAccount+Succeeded&TradeNo=2501&TradeAmt=1200&PaymentType=ATM_TAISHIN"
            + "&TradeDate=2025%2F01%2F01+12%3A00%3A00&BankCode=812&vAccount=9103522175887271&ExpireDate=2025%2F01%2F04&CheckMacValue=X"));
        Assert.True(info.IsNumberIssued);
        Assert.Equal("812", info.BankCode);
        Assert.Equal("9103522175887271", info.VAccount);
        Assert.Equal(new DateTimeOffset(2025, 1, 4, 23, 59, 59, TimeSpan.FromHours(8)), info.ExpireDate);
    }

    [Fact]
    public void ParsesACvsNumberIssuedPost()
    {
        var info = PaymentInfo.Parse(EcpayForm.Parse(
            "MerchantID=3002607&MerchantTradeNo=Cvs1&RtnCode=10100073&RtnMsg=Get+CVS+Code+Succeeded&TradeNo=2501&TradeAmt=300&PaymentType=CVS_CVS"
            + "&PaymentNo=LLL22251222&ExpireDate=2025%2F01%2F08+12%3A00%3A00&Barcode1=&Barcode2=&Barcode3="));
        Assert.Equal("LLL22251222", info.PaymentNo);
        Assert.Equal(new DateTimeOffset(2025, 1, 8, 4, 0, 0, TimeSpan.Zero), info.ExpireDate);
    }

    [Fact]
    public void ParsesABarcodeNumberIssuedPostWithoutAPaymentNo()
    {
        var info = PaymentInfo.Parse(EcpayForm.Parse(
            "MerchantID=3002607&MerchantTradeNo=Bar1&RtnCode=10100073&RtnMsg=Get+Barcode+Succeeded.&TradeNo=2501&TradeAmt=300&PaymentType=BARCODE_BARCODE"
            + "&TradeDate=2025%2F01%2F01+12%3A00%3A00&PaymentNo=&ExpireDate=2025%2F01%2F08&Barcode1=250108617&Barcode2=1234567890123456&Barcode3=010100000000300"));
        Assert.True(info.IsNumberIssued);
        Assert.Equal("", info.PaymentNo);
        Assert.Equal(("250108617", "1234567890123456", "010100000000300"), (info.Barcode1, info.Barcode2, info.Barcode3));
        Assert.Equal(new DateTimeOffset(2025, 1, 8, 23, 59, 59, TimeSpan.FromHours(8)), info.ExpireDate);
    }

    [Theory]
    [InlineData("TradeAmt=abc")]
    [InlineData("TradeAmt=300.0")]
    [InlineData("TradeAmt=")]
    public void RejectsAPaymentInfoWithANonNumericTradeAmt(string tradeAmt)
    {
        var form = EcpayForm.Parse("MerchantID=3002607&MerchantTradeNo=Atm1&RtnCode=2&RtnMsg=ok&TradeNo=2501&" + tradeAmt + "&BankCode=812&vAccount=9103522175887271&ExpireDate=2025%2F01%2F04");
        Assert.Equal("TradeAmt", Assert.Throws<EcpayPostException>(() => PaymentInfo.Parse(form)).Field);
    }

    [Fact]
    public void APaymentInfoWithAnOddTradeDateStillParses()
    {
        var info = PaymentInfo.Parse(EcpayForm.Parse("MerchantID=3002607&MerchantTradeNo=Atm1&RtnCode=2&RtnMsg=ok&TradeNo=2501&TradeAmt=1200&TradeDate=2025%2F01%2F01+12%3A00&BankCode=812&vAccount=9103522175887271&ExpireDate=2025%2F01%2F04"));
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 4, 0, 0, TimeSpan.Zero), info.TradeDate);
    }

    [Theory]
    [InlineData("RtnCode=2&BankCode=812&ExpireDate=2025%2F01%2F04", "vAccount")]
    [InlineData("RtnCode=2&vAccount=1&ExpireDate=2025%2F01%2F04", "BankCode")]
    [InlineData("RtnCode=2&BankCode=812&vAccount=1", "ExpireDate")]
    [InlineData("RtnCode=2&BankCode=812&vAccount=1&ExpireDate=soon", "ExpireDate")]
    [InlineData("RtnCode=10100073&ExpireDate=2025%2F01%2F04+00%3A00%3A00", "PaymentNo")]
    public void RejectsANumberIssuedPostMissingWhatItIssued(string specific, string field)
    {
        var form = EcpayForm.Parse("MerchantID=3002607&MerchantTradeNo=X1&RtnMsg=ok&TradeNo=1&TradeAmt=100&" + specific);
        Assert.Equal(field, Assert.Throws<EcpayPostException>(() => PaymentInfo.Parse(form)).Field);
    }

    [Fact]
    public void TaiwanTimeIsUtcPlusEightWhateverTheServerTimeZone()
    {
        Assert.Equal(new DateTimeOffset(2024, 12, 31, 16, 0, 0, TimeSpan.Zero), TaiwanTime.Parse("2025/01/01 00:00:00"));
        Assert.Equal("2025/01/01 00:00:00", TaiwanTime.Format(new DateTimeOffset(2024, 12, 31, 16, 0, 0, TimeSpan.Zero)));
        Assert.Equal("2025/01/01 00:00:00", TaiwanTime.Format(new DateTimeOffset(2024, 12, 31, 11, 0, 0, TimeSpan.FromHours(-5))));
        Assert.False(TaiwanTime.TryParse("2025/1/1 0:00:00", out _));
        Assert.False(TaiwanTime.TryParse("2025/02/30 00:00:00", out _));
    }
}
