namespace EcpayEvents.Ecpay;
