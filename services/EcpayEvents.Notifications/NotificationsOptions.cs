using System.ComponentModel.DataAnnotations;
using EcpayEvents.Ecpay;
using EcpayEvents.Messaging;
using Microsoft.Extensions.Options;

namespace EcpayEvents.Notifications;

/// <summary>Configuration of the Notifications service, bound from the root (<c>Ecpay:*</c>, <c>Sqs:*</c>) and validated at start.</summary>
public sealed class NotificationsOptions
{
    [Required, ValidateObjectMembers]
    public EcpayOptions Ecpay { get; set; } = new();

    [Required, ValidateObjectMembers]
    public SqsOptions Sqs { get; set; } = new();
}

[OptionsValidator]
public sealed partial class NotificationsOptionsValidator : IValidateOptions<NotificationsOptions>;
