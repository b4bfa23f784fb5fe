using EcpayEvents.Ecpay;
using EcpayEvents.Payments.Settlement;

namespace EcpayEvents.Payments.Tests;

/// <summary>How Settlement reads a message before deciding: MAC first, then the fields.</summary>
public sealed class ReceivedResultTests
{
    private static readonly EcpayCredentials Keys = EcpayCredentials.Stage;

    private static Dictionary<string, string> Signed(Dictionary<string, string> fields)
    {
        fields[CheckMacValue.FieldName] = CheckMacValue.Compute(fields, Keys.HashKey, Keys.HashIv);
        return fields;
    }

    private static Dictionary<string, string> ReturnUrl() => new()
    {
        ["MerchantID"] = Keys.MerchantId, ["MerchantTradeNo"] = "T1", ["StoreID"] = "", ["RtnCode"] = "1", ["RtnMsg"] = "交易成功",
        ["TradeNo"] = "2611250000000001", ["TradeAmt"] = "500", ["PaymentDate"] = "2026/11/25 12:00:00", ["PaymentType"] = "Credit_CreditCard",
        ["PaymentTypeChargeFee"] = "10", ["TradeDate"] = "2026/11/25 11:59:00", ["SimulatePaid"] = "0",
    };

    [Fact]
    public void AMessageWhoseMacDoesNotVerifyIsNotRead()
    {
        var fields = Signed(ReturnUrl());
        fields["TradeAmt"] = "5000";
        Assert.Equal(new ReceivedResult.BadMac(PaymentResultSource.ReturnUrl), ReceivedResult.Read(PaymentResultSource.ReturnUrl, fields, Keys));
    }

    [Fact]
    public void AVerifiedMessageIsParsed()
    {
        var read = Assert.IsType<ReceivedResult.Parsed>(ReceivedResult.Read(PaymentResultSource.ReturnUrl, Signed(ReturnUrl()), Keys));
        Assert.Equal((NoticeKind.Paid, 500L), (read.Notice.Kind, read.Notice.TradeAmt));
    }

    [Fact]
    public void AVerifiedMessageThatDoesNotParseKeepsWhetherItSaysPaid()
    {
        var fields = ReturnUrl();
        fields["TradeAmt"] = "500.00";
        var read = Assert.IsType<ReceivedResult.Malformed>(ReceivedResult.Read(PaymentResultSource.ReturnUrl, Signed(fields), Keys));
        Assert.True(read.SaysPaid);
        Assert.Equal(Keys.MerchantId, read.MerchantId);
        Assert.Contains("TradeAmt", read.Error);
    }
}
