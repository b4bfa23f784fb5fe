using System.ComponentModel.DataAnnotations;

namespace EcpayEvents.Ecpay;

/// <summary>
/// The <c>Ecpay</c> configuration section every service reads: the merchant (HashKey/HashIV come from
/// SSM on AWS) and which ECPay to talk to. Each service validates it at start through its
/// <c>[OptionsValidator]</c>; every message names the configuration key and never a secret.
/// Services with more <c>Ecpay:*</c> keys derive from it.
/// </summary>
public class EcpayOptions : IValidatableObject
{
    [Required(ErrorMessage = "Ecpay:MerchantId is required.")]
    [StringLength(10, ErrorMessage = "Ecpay:MerchantId must be at most 10 characters.")]
    public string MerchantId { get; set; } = "";

    [Required(ErrorMessage = "Ecpay:HashKey is required.")]
    public string HashKey { get; set; } = "";

    [Required(ErrorMessage = "Ecpay:HashIv is required.")]
    public string HashIv { get; set; } = "";

    /// <summary>Stage (the default), Production or Sandbox (needs <see cref="BaseUrl"/>); any case.</summary>
    public string Environment { get; set; } = "Stage";

    /// <summary>Overrides the environment, e.g. http://127.0.0.1:5090 for the local sandbox.</summary>
    public string? BaseUrl { get; set; }

    public bool IsProduction => IsEnvironment("Production");

    public EcpayCredentials Credentials() => new(MerchantId, HashKey, HashIv);

    /// <summary>BaseUrl wins; otherwise Production or Stage. Sandbox without BaseUrl does not pass validation.</summary>
    public EcpayUrls Endpoints() =>
        !string.IsNullOrWhiteSpace(BaseUrl) ? EcpayUrls.FromBaseUrl(BaseUrl)
        : IsProduction ? EcpayUrls.Production
        : IsEnvironment("Sandbox") ? throw new InvalidOperationException("Ecpay:BaseUrl is required with Ecpay:Environment Sandbox.")
        : EcpayUrls.Stage;

    public virtual IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrWhiteSpace(Environment) && !IsEnvironment("Stage") && !IsProduction && !IsEnvironment("Sandbox"))
            yield return new ValidationResult($"Ecpay:Environment must be Stage, Production or Sandbox, not '{Environment}'.");
        if (!string.IsNullOrWhiteSpace(BaseUrl))
        {
            string? problem = null;
            try { _ = EcpayUrls.FromBaseUrl(BaseUrl); }
            catch (ArgumentException e) { problem = $"Ecpay:BaseUrl: {e.Message}"; }
            if (problem is not null) yield return new ValidationResult(problem);
        }
        else if (IsEnvironment("Sandbox"))
        {
            yield return new ValidationResult("Ecpay:BaseUrl is required with Ecpay:Environment Sandbox.");
        }
    }

    // Blank means the default, Stage.
    private bool IsEnvironment(string name) =>
        string.Equals(string.IsNullOrWhiteSpace(Environment) ? "Stage" : Environment.Trim(), name, StringComparison.OrdinalIgnoreCase);

    public override string ToString() =>
        $"EcpayOptions {{ MerchantId = {MerchantId}, HashKey = ***, HashIv = ***, Environment = {Environment}, BaseUrl = {BaseUrl} }}";
}
