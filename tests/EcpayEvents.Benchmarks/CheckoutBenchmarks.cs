using BenchmarkDotNet.Attributes;
using EcpayEvents.Ecpay;

namespace EcpayEvents.Benchmarks;

/// <summary>Building the signed AioCheckOut/V5 form and its self-posting HTML page (PaymentsApi).</summary>
[MemoryDiagnoser]
public class CheckoutBenchmarks
{
    private readonly CheckoutRequest _request = new()
    {
        MerchantTradeNo = "Dep20250101A",
        MerchantTradeDate = new DateTimeOffset(2025, 1, 1, 4, 0, 0, TimeSpan.Zero),
        TotalAmount = 500,
        TradeDesc = "儲值",
        ItemName = "儲值 500 元",
        ReturnUrl = "https://notifications.example.com/ecpay/return",
        ChoosePayment = ChoosePayment.All,
        ClientBackUrl = "https://pay.example.com/deposits/Dep20250101A",
        OrderResultUrl = "https://pay.example.com/ecpay/order-result",
        PaymentInfoUrl = "https://notifications.example.com/ecpay/payment-info",
        CustomField1 = "u42",
    };

    private CheckoutForm _form = null!;

    [GlobalSetup]
    public void Setup() => _form = Create();

    [Benchmark(Description = "CheckoutForm.Create")]
    public CheckoutForm Create() => CheckoutForm.Create(_request, Samples.Credentials, EcpayUrls.Stage);

    [Benchmark(Description = "CheckoutForm.ToHtml")]
    public string ToHtml() => _form.ToHtml("nonce123");

    [Benchmark(Description = "CheckoutForm.Create + ToHtml")]
    public string CreateAndToHtml() => CheckoutForm.Create(_request, Samples.Credentials, EcpayUrls.Stage).ToHtml("nonce123");
}
