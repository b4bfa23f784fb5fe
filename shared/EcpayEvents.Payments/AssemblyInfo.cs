namespace EcpayEvents.Payments;
