package dev.autograd.nn;

import dev.autograd.Tensor;

/**
 * torchvision's {@code ResNet} with {@link BasicBlock}s, line for line as
 * {@code torchvision/models/resnet.py}: same children, same names ({@code conv1}, {@code bn1},
 * {@code layer1.0.conv1} ... {@code layer4.1.bn2}, {@code layerN.0.downsample.0/.1}, {@code fc}),
 * same initialisation (kaiming-normal fan_out for convs, BatchNorm weight 1 and bias 0, nn.Linear's
 * default for fc). {@link #resnet18()} has 11,689,512 parameters, so a torchvision state_dict maps
 * one to one.
 *
 * <p>{@code baseWidth} (64 in torchvision) scales every width, for small test models.
 */
public class ResNet extends Module {

    public Conv2d conv1;
    public BatchNorm2d bn1;
    public ReLU relu;
    public MaxPool2d maxpool;
    public Sequential layer1;
    public Sequential layer2;
    public Sequential layer3;
    public Sequential layer4;
    public AdaptiveAvgPool2d avgpool;
    public Module fc;

    private int inplanes;

    /** {@code torchvision.models.resnet18()}: [2, 2, 2, 2] BasicBlocks, 1000 classes. */
    public static ResNet resnet18() {
        return new ResNet(new int[] {2, 2, 2, 2}, 1000, 64);
    }

    /** {@code torchvision.models.resnet34()}: [3, 4, 6, 3] BasicBlocks. */
    public static ResNet resnet34() {
        return new ResNet(new int[] {3, 4, 6, 3}, 1000, 64);
    }

    public ResNet(int[] layers, int numClasses, int baseWidth) {
        this.inplanes = baseWidth;
        this.conv1 = registerModule("conv1", new Conv2d(3, inplanes, 7, 2, 3, false));
        this.bn1 = registerModule("bn1", new BatchNorm2d(inplanes));
        this.relu = registerModule("relu", new ReLU(true));
        this.maxpool = registerModule("maxpool", new MaxPool2d(3, 2, 1));
        this.layer1 = registerModule("layer1", makeLayer(baseWidth, layers[0], 1));
        this.layer2 = registerModule("layer2", makeLayer(baseWidth * 2, layers[1], 2));
        this.layer3 = registerModule("layer3", makeLayer(baseWidth * 4, layers[2], 2));
        this.layer4 = registerModule("layer4", makeLayer(baseWidth * 8, layers[3], 2));
        this.avgpool = registerModule("avgpool", new AdaptiveAvgPool2d(1, 1));
        this.fc = registerModule("fc", new Linear(baseWidth * 8 * BasicBlock.EXPANSION, numClasses));

        for (Module m : namedModules().values()) {
            if (m instanceof Conv2d conv) {
                Init.kaimingNormalFanOut(conv.weight);
            } else if (m instanceof BatchNorm2d bn) {
                Init.constant(bn.weight, 1f);
                Init.constant(bn.bias, 0f);
            }
        }
    }

    private Sequential makeLayer(int planes, int blocks, int stride) {
        Module downsample = null;
        if (stride != 1 || inplanes != planes * BasicBlock.EXPANSION) {
            downsample = new Sequential(
                    conv1x1(inplanes, planes * BasicBlock.EXPANSION, stride),
                    new BatchNorm2d(planes * BasicBlock.EXPANSION));
        }
        Module[] layers = new Module[blocks];
        layers[0] = new BasicBlock(inplanes, planes, stride, downsample);
        inplanes = planes * BasicBlock.EXPANSION;
        for (int i = 1; i < blocks; i++) {
            layers[i] = new BasicBlock(inplanes, planes, 1, null);
        }
        return new Sequential(layers);
    }

    /** 3x3 convolution with padding, no bias. */
    static Conv2d conv3x3(int inPlanes, int outPlanes, int stride) {
        return new Conv2d(inPlanes, outPlanes, 3, stride, 1, false);
    }

    /** 1x1 convolution, no bias. */
    static Conv2d conv1x1(int inPlanes, int outPlanes, int stride) {
        return new Conv2d(inPlanes, outPlanes, 1, stride, 0, false);
    }

    @Override
    public Tensor forward(Tensor x) {
        x = conv1.forward(x);
        x = bn1.forward(x);
        x = relu.forward(x);
        x = maxpool.forward(x);

        x = layer1.forward(x);
        x = layer2.forward(x);
        x = layer3.forward(x);
        x = layer4.forward(x);

        x = avgpool.forward(x);
        x = x.flatten(1, -1);
        x = fc.forward(x);

        return x;
    }
}
