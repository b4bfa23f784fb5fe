using System.ComponentModel.DataAnnotations;
using System.Text;
using EcpayEvents.Ecpay;
using EcpayEvents.Payments;
using EcpayEvents.Payments.Deposits;
using EcpayEvents.Payments.Withdrawals;
using Microsoft.Extensions.Options;

namespace EcpayEvents.PaymentsApi;

/// <summary>
/// Every setting of the service, bound from the configuration root (environment variables use
/// <c>__</c>: <c>Ecpay__HashKey</c>, <c>PaymentsApi__Deposit__Expiry__Atm</c>) and validated at start.
/// </summary>
public sealed class PaymentsApiSettings : IValidatableObject
{
    [Required, ValidateObjectMembers]
    public DatabaseOptions Database { get; set; } = new();

    [Required, ValidateObjectMembers]
    public PaymentsApiEcpayOptions Ecpay { get; set; } = new();

    [Required]
    public PaymentsApiSection PaymentsApi { get; set; } = new();

    public sealed class PaymentsApiSection
    {
        /// <summary>This API as the browser reaches it (checkout links, OrderResultURL, ClientBackURL).</summary>
        public string PublicBaseUrl { get; set; } = "";
        public DepositOptions Deposit { get; set; } = new();
        public WithdrawalOptions Withdrawal { get; set; } = new();
        /// <summary>Whose access tokens the API accepts.</summary>
        public CognitoOptions Cognito { get; set; } = new();
        /// <summary>
        /// Base64 of at least 32 random bytes: the HMAC-SHA256 key of checkout links (on AWS from SSM:
        /// <c>Ssm__PaymentsApi__LinkSigningKey</c>). Changing it invalidates links in flight (≤ 15 min).
        /// </summary>
        public string LinkSigningKey { get; set; } = "";
    }

    public string PublicUrl(string path) => PaymentsApi.PublicBaseUrl.TrimEnd('/') + path;

    public string OrderResultUrl => PublicUrl("/ecpay/order-result");

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var problems = new List<string>();
        if (SettingUrl.Problem("PaymentsApi:PublicBaseUrl", PaymentsApi.PublicBaseUrl, required: true, https: Ecpay.IsProduction) is { } urlProblem)
            problems.Add(urlProblem);
        else if (Encoding.UTF8.GetByteCount(OrderResultUrl) > CheckoutForm.MaxUrlBytes)
            problems.Add($"PaymentsApi:PublicBaseUrl is too long: OrderResultURL must fit in {CheckoutForm.MaxUrlBytes} bytes.");
        problems.AddRange(PaymentsApi.Cognito.Problems(Ecpay.IsProduction));
        if (SignedLinks.KeyProblem(PaymentsApi.LinkSigningKey) is { } keyProblem) problems.Add(keyProblem);
        problems.AddRange(PaymentsApi.Deposit.Problems());
        problems.AddRange(PaymentsApi.Withdrawal.Problems());
        return problems.Select(p => new ValidationResult(p));
    }
}

/// <summary>The shared <c>Ecpay</c> section plus the callback URLs only PaymentsApi sends to ECPay.</summary>
public sealed class PaymentsApiEcpayOptions : EcpayOptions
{
    /// <summary>The Notifications service's public ReturnURL endpoint.</summary>
    public string ReturnUrl { get; set; } = "";

    /// <summary>The Notifications service's public PaymentInfoURL endpoint (ATM/CVS/BARCODE).</summary>
    public string? PaymentInfoUrl { get; set; }

    public override IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in base.Validate(validationContext)) yield return result;
        if (SettingUrl.Problem("Ecpay:ReturnUrl", ReturnUrl, required: true, https: IsProduction) is { } returnUrl)
            yield return new ValidationResult(returnUrl);
        if (SettingUrl.Problem("Ecpay:PaymentInfoUrl", PaymentInfoUrl, required: false, https: IsProduction) is { } paymentInfoUrl)
            yield return new ValidationResult(paymentInfoUrl);
    }
}

/// <summary>The rule for a URL we hand to ECPay or a browser: absolute http(s), https in Production, within ECPay's length limit.</summary>
internal static class SettingUrl
{
    public static string? Problem(string key, string? value, bool required, bool https)
    {
        if (string.IsNullOrWhiteSpace(value)) return required ? $"{key} is required." : null;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            return $"{key} must be an absolute http(s) URL.";
        if (https && uri.Scheme != Uri.UriSchemeHttps) return $"{key} must be https in Production.";
        // Sent to ECPay inside the signed checkout form, where '&' and '=' would separate fields.
        if (CheckMacValue.SeparatorProblem(value) is { } separator) return $"{key} {separator}";
        if (Encoding.UTF8.GetByteCount(value) > CheckoutForm.MaxUrlBytes) return $"{key} must fit in {CheckoutForm.MaxUrlBytes} bytes (ECPay's limit).";
        return null;
    }
}

[OptionsValidator]
public sealed partial class PaymentsApiSettingsValidator : IValidateOptions<PaymentsApiSettings>;
