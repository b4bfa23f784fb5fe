using EcpayEvents.Ecpay;
using EcpayEvents.Payments.Deposits;
using EcpayEvents.Payments.Withdrawals;
using Microsoft.Extensions.Options;

namespace EcpayEvents.PaymentsApi;

/// <summary>
/// Every setting of the service, bound from the configuration root (environment variables use
/// <c>__</c>: <c>Ecpay__HashKey</c>, <c>PaymentsApi__Deposit__Expiry__Atm</c>) and validated at start.
/// </summary>
public sealed class PaymentsApiSettings
{
    public DatabaseSection Database { get; set; } = new();
    public EcpaySection Ecpay { get; set; } = new();
    public PaymentsApiSection PaymentsApi { get; set; } = new();

    public sealed class DatabaseSection
    {
        public string ConnectionString { get; set; } = "";
    }

    public sealed class EcpaySection
    {
        /// <summary>Stage (default), Production or Sandbox (needs BaseUrl).</summary>
        public string Environment { get; set; } = "Stage";
        /// <summary>Overrides the environment's base URL, e.g. http://127.0.0.1:5090 for the local sandbox.</summary>
        public string? BaseUrl { get; set; }
        /// <summary>Empty outside Production: ECPay's public stage merchant.</summary>
        public string? MerchantId { get; set; }
        public string? HashKey { get; set; }
        public string? HashIv { get; set; }
        /// <summary>The Notifications service's public ReturnURL endpoint.</summary>
        public string ReturnUrl { get; set; } = "";
        /// <summary>The Notifications service's public PaymentInfoURL endpoint (ATM/CVS/BARCODE).</summary>
        public string? PaymentInfoUrl { get; set; }

        public bool IsProduction => string.Equals(Environment, "Production", StringComparison.OrdinalIgnoreCase);

        public EcpayCredentials Credentials() =>
            string.IsNullOrEmpty(MerchantId) && !IsProduction
                ? EcpayCredentials.Stage
                : new EcpayCredentials(MerchantId ?? "", HashKey ?? "", HashIv ?? "");

        public EcpayEndpoints Endpoints() =>
            !string.IsNullOrEmpty(BaseUrl) ? EcpayEndpoints.FromBaseUrl(BaseUrl)
            : IsProduction ? EcpayEndpoints.Production
            : EcpayEndpoints.Stage;
    }

    public sealed class PaymentsApiSection
    {
        /// <summary>This API as the browser reaches it (checkout links, OrderResultURL, ClientBackURL).</summary>
        public string PublicBaseUrl { get; set; } = "";
        public DepositOptions Deposit { get; set; } = new();
        public WithdrawalOptions Withdrawal { get; set; } = new();
    }

    public string PublicUrl(string path) => PaymentsApi.PublicBaseUrl.TrimEnd('/') + path;

    public string OrderResultUrl => PublicUrl("/ecpay/order-result");
}

public sealed class PaymentsApiSettingsValidator : IValidateOptions<PaymentsApiSettings>
{
    public ValidateOptionsResult Validate(string? name, PaymentsApiSettings s)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(s.Database.ConnectionString)) problems.Add("Database:ConnectionString is required.");

        var ecpay = s.Ecpay;
        if (!new[] { "Stage", "Production", "Sandbox" }.Contains(ecpay.Environment, StringComparer.OrdinalIgnoreCase))
            problems.Add("Ecpay:Environment must be Stage, Production or Sandbox.");
        if (string.Equals(ecpay.Environment, "Sandbox", StringComparison.OrdinalIgnoreCase) && string.IsNullOrEmpty(ecpay.BaseUrl))
            problems.Add("Ecpay:BaseUrl is required with Ecpay:Environment Sandbox.");
        if (!string.IsNullOrEmpty(ecpay.BaseUrl))
        {
            try { _ = EcpayEndpoints.FromBaseUrl(ecpay.BaseUrl); }
            catch (ArgumentException e) { problems.Add($"Ecpay:BaseUrl: {e.Message}"); }
        }
        if (ecpay.IsProduction || !string.IsNullOrEmpty(ecpay.MerchantId))
        {
            if (string.IsNullOrEmpty(ecpay.MerchantId) || ecpay.MerchantId.Length > 10) problems.Add("Ecpay:MerchantId is required (1–10 characters).");
            if (string.IsNullOrEmpty(ecpay.HashKey)) problems.Add("Ecpay:HashKey is required.");
            if (string.IsNullOrEmpty(ecpay.HashIv)) problems.Add("Ecpay:HashIv is required.");
        }
        Url("Ecpay:ReturnUrl", ecpay.ReturnUrl, required: true, ecpay.IsProduction);
        Url("Ecpay:PaymentInfoUrl", ecpay.PaymentInfoUrl, required: false, ecpay.IsProduction);
        Url("PaymentsApi:PublicBaseUrl", s.PaymentsApi.PublicBaseUrl, required: true, ecpay.IsProduction);
        if (problems.Count == 0 && System.Text.Encoding.UTF8.GetByteCount(s.OrderResultUrl) > CheckoutForm.MaxUrlBytes)
            problems.Add($"PaymentsApi:PublicBaseUrl is too long: OrderResultURL must fit in {CheckoutForm.MaxUrlBytes} bytes.");
        problems.AddRange(s.PaymentsApi.Deposit.Problems());
        problems.AddRange(s.PaymentsApi.Withdrawal.Problems());
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);

        void Url(string key, string? value, bool required, bool https)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                if (required) problems.Add($"{key} is required.");
                return;
            }
            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                problems.Add($"{key} must be an absolute http(s) URL.");
            else if (https && uri.Scheme != Uri.UriSchemeHttps)
                problems.Add($"{key} must be https in Production.");
            else if (System.Text.Encoding.UTF8.GetByteCount(value) > CheckoutForm.MaxUrlBytes)
                problems.Add($"{key} must fit in {CheckoutForm.MaxUrlBytes} bytes (ECPay's limit).");
        }
    }
}
