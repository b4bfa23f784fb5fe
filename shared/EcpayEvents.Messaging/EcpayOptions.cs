using System.ComponentModel.DataAnnotations;
using EcpayEvents.Ecpay;

namespace EcpayEvents.Messaging;

/// <summary>
/// The merchant credentials (config section <c>Ecpay</c>) every service that signs or verifies
/// ECPay fields needs: Notifications, Settlement and Timeouts. HashKey/HashIV come from SSM on AWS.
/// </summary>
public sealed class EcpayOptions
{
    [Required]
    public string MerchantId { get; set; } = "";

    [Required]
    public string HashKey { get; set; } = "";

    [Required]
    public string HashIv { get; set; } = "";

    public EcpayCredentials ToCredentials() => new(MerchantId, HashKey, HashIv);

    public override string ToString() => $"EcpayOptions {{ MerchantId = {MerchantId}, HashKey = ***, HashIv = *** }}";
}
