module mailing/sender-worker

go 1.26.8

require (
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/rabbitmq/amqp091-go v1.16.0 // indirect
	github.com/sony/gobreaker/v2 v2.4.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
)
