"""tf.contrib in the style of the TF1-era blog posts: a contrib LSTM over the rows, and contrib
layers on top."""
import tensorflow as tf
from tensorflow.contrib import rnn
from tensorflow.examples.tutorials.mnist import input_data

mnist = input_data.read_data_sets("MNIST_data/", one_hot=True)
x = tf.placeholder(tf.float32, [None, 28, 28])
y = tf.placeholder(tf.float32, [None, 10])
inputs = tf.unstack(x, 28, 1)
lstm_cell = rnn.BasicLSTMCell(32, forget_bias=1.0)
outputs, states = rnn.static_rnn(lstm_cell, inputs, dtype=tf.float32)
hidden = tf.contrib.layers.fully_connected(outputs[-1], 64)
logits = tf.contrib.layers.fully_connected(hidden, 10, activation_fn=None)
loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(logits=logits, labels=y))
train_op = tf.train.AdamOptimizer(learning_rate=0.01).minimize(loss)
accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), tf.argmax(y, 1)), tf.float32))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(1, 201):
        batch_x, batch_y = mnist.train.next_batch(128)
        sess.run(train_op, feed_dict={x: batch_x.reshape((128, 28, 28)), y: batch_y})
    print("accuracy", sess.run(accuracy, feed_dict={x: mnist.test.images[:1000].reshape((-1, 28, 28)),
                                                   y: mnist.test.labels[:1000]}))
